/* srv_config.c — flags and NND_* variables. */
#include "srv_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: nnd [options]\n"
    "\n"
    "nnd trains neural networks on CSV data for anyone who can send HTTP: upload a dataset,\n"
    "post a spec, stream the folds learning, fetch predictions and models. The dashboard is\n"
    "served at / and the API under /v1 (see /openapi.json).\n"
    "\n"
    "options (each also as an environment variable; flags win):\n"
    "  --listen HOST:PORT   address to listen on (NND_LISTEN, default 127.0.0.1:8080;\n"
    "                       0.0.0.0:8080 for every interface)\n"
    "  --data-dir DIR       database and uploaded files (NND_DATA_DIR, default ./nnd-data);\n"
    "                       with --db, this node's cache of dataset files\n"
    "  --db URL             a PostgreSQL database shared by several nnd nodes,\n"
    "                       postgres://USER@HOST:PORT/DB (NND_DB, default: SQLite in\n"
    "                       --data-dir)\n"
    "  --web-dir DIR        dashboard files (NND_WEB_DIR, default the build's web/)\n"
    "  --workers N          training threads a run uses (NND_WORKERS, default the number of\n"
    "                       cores)\n"
    "  --max-active-runs N  runs training at once; more wait in the queue (NND_MAX_ACTIVE_RUNS,\n"
    "                       default 2)\n"
    "  --http-threads N     HTTP threads (NND_HTTP_THREADS, default half the number of\n"
    "                       cores, 1 to 8)\n"
    "  --max-upload BYTES   largest CSV upload (NND_MAX_UPLOAD, default 268435456)\n"
    "  --max-body BYTES     largest JSON body (NND_MAX_BODY, default 16777216)\n"
    "  --max-queued N       queued runs before 429 (NND_MAX_QUEUED, default 64)\n"
    "  --max-streams N      open event streams (NND_MAX_STREAMS, default 256)\n"
    "  --max-streams-per-client N\n"
    "                       open event streams per client IP address, 429 beyond\n"
    "                       (NND_MAX_STREAMS_PER_CLIENT, default 16)\n"
    "  --max-spec-bytes BYTES\n"
    "                       largest body of POST /v1/runs and /v1/specs/validate, 413 beyond\n"
    "                       (NND_MAX_SPEC_BYTES, default 1048576)\n"
    "  --max-params N       largest network of a run: parameters x ensemble, 422 beyond\n"
    "                       (NND_MAX_PARAMS, default 50000000)\n"
    "  --timeout SECONDS    close a connection idle (or sending its request head) this long\n"
    "                       (NND_TIMEOUT, default 30)\n"
    "  --max-epoch-events N epoch events stored per run at most: past it every n-th epoch\n"
    "                       (and each network's first and last) (NND_MAX_EPOCH_EVENTS,\n"
    "                       default 100000)\n"
    "  --lease SECONDS      a claimed task's lease: renewed every third of it; a task whose\n"
    "                       node stops renewing is trained again after it (NND_LEASE,\n"
    "                       default 30)\n"
    "  --min-body-rate BYTES\n"
    "                       close a connection sending its request body slower than this per\n"
    "                       second, over windows of --timeout (NND_MIN_BODY_RATE, default 1024)\n"
    "  --max-uploads-per-client N\n"
    "                       uploads in progress from one client IP address, 429 beyond\n"
    "                       (NND_MAX_UPLOADS_PER_CLIENT, default 16)\n"
    "  --work-threads N     threads that parse uploads and plan specs, so the HTTP threads stay\n"
    "                       free (NND_WORK_THREADS, default 2)\n"
    "  --max-work-queue N   uploads, validations and run creations waiting for those threads,\n"
    "                       503 beyond (NND_MAX_WORK_QUEUE, default 256)\n"
    "  --table-cache BYTES  parsed datasets kept in memory for validations and runs\n"
    "                       (NND_TABLE_CACHE, default 536870912)\n"
    "  --token-file FILE    require 'Authorization: Bearer <token>' on /v1 (NND_TOKEN holds\n"
    "                       the token itself)\n"
    "  --cors-origin ORIGIN allow browser calls from ORIGIN (NND_CORS_ORIGIN, default off)\n"
    "  --quiet              no request log on stderr\n"
    "  -h, --help           this help\n"
    "  --version            version, float type and BLAS\n";

const char *srv_config_usage(void) { return usage; }

static nn_status parse_int(const char *name, const char *v, int64_t lo, int64_t hi, int64_t *out,
                           nn_error *err) {
    char *end = NULL;
    errno = 0;
    long long x = v ? strtoll(v, &end, 10) : 0;
    if (!v || errno || end == v || *end || x < lo || x > hi)
        return nn_error_set(err, NN_ERR_INVALID, "%s: \"%s\" is not an integer in %lld..%lld", name,
                            v ? v : "", (long long)lo, (long long)hi);
    *out = x;
    return NN_OK;
}

static nn_status parse_listen(srv_config *cfg, const char *v, nn_error *err) {
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v || (size_t)(colon - v) >= sizeof cfg->listen_host)
        return nn_error_set(err, NN_ERR_INVALID, "--listen: \"%s\" is not HOST:PORT", v);
    int64_t port = 0;
    if (parse_int("--listen port", colon + 1, 0, 65535, &port, err) != NN_OK) return err->code;
    memcpy(cfg->listen_host, v, (size_t)(colon - v));
    cfg->listen_host[colon - v] = '\0';
    cfg->port = (int)port;
    return NN_OK;
}

static nn_status copy_str(char *dst, size_t size, const char *name, const char *v, nn_error *err) {
    if (strlen(v) >= size) return nn_error_set(err, NN_ERR_INVALID, "%s: value too long", name);
    memcpy(dst, v, strlen(v) + 1);
    return NN_OK;
}

static nn_status read_token_file(srv_config *cfg, const char *path, nn_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) return nn_error_set(err, NN_ERR_IO, "--token-file: cannot open %s", path);
    size_t n = fread(cfg->token, 1, sizeof cfg->token - 1, f);
    (void)fclose(f);
    cfg->token[n] = '\0';
    while (n > 0 &&
           (cfg->token[n - 1] == '\n' || cfg->token[n - 1] == '\r' || cfg->token[n - 1] == ' '))
        cfg->token[--n] = '\0';
    if (n == 0) return nn_error_set(err, NN_ERR_INVALID, "--token-file: %s is empty", path);
    return NN_OK;
}

/* Applies one setting by its flag name (without "--") from a flag or the environment. */
static nn_status apply(srv_config *cfg, const char *name, const char *v, nn_error *err) {
    int64_t x = 0;
    nn_status st = NN_OK;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (!strcmp(name, "listen"))
        st = parse_listen(cfg, v, err);
    else if (!strcmp(name, "data-dir"))
        st = copy_str(cfg->data_dir, sizeof cfg->data_dir, name, v, err);
    else if (!strcmp(name, "db"))
        st = copy_str(cfg->db, sizeof cfg->db, name, v, err);
    else if (!strcmp(name, "web-dir"))
        st = copy_str(cfg->web_dir, sizeof cfg->web_dir, name, v, err);
    else if (!strcmp(name, "cors-origin"))
        st = copy_str(cfg->cors_origin, sizeof cfg->cors_origin, name, v, err);
    else if (!strcmp(name, "token"))
        st = copy_str(cfg->token, sizeof cfg->token, name, v, err);
    else if (!strcmp(name, "token-file"))
        st = read_token_file(cfg, v, err);
    else if (!strcmp(name, "workers")) {
        if ((st = parse_int("--workers", v, 1, cores > 0 ? 4 * cores : 64, &x, err)) == NN_OK)
            cfg->workers = (int)x;
    } else if (!strcmp(name, "max-active-runs")) {
        if ((st = parse_int("--max-active-runs", v, 1, 64, &x, err)) == NN_OK)
            cfg->max_active = (int)x;
    } else if (!strcmp(name, "http-threads")) {
        if ((st = parse_int("--http-threads", v, 1, 64, &x, err)) == NN_OK)
            cfg->http_threads = (int)x;
    } else if (!strcmp(name, "max-upload")) {
        if ((st = parse_int("--max-upload", v, 1024, (int64_t)1 << 40, &x, err)) == NN_OK)
            cfg->max_upload = x;
    } else if (!strcmp(name, "max-body")) {
        if ((st = parse_int("--max-body", v, 1024, (int64_t)1 << 30, &x, err)) == NN_OK)
            cfg->max_body = x;
    } else if (!strcmp(name, "max-queued")) {
        if ((st = parse_int("--max-queued", v, 1, 100000, &x, err)) == NN_OK)
            cfg->max_queued = (int)x;
    } else if (!strcmp(name, "max-streams")) {
        if ((st = parse_int("--max-streams", v, 1, 100000, &x, err)) == NN_OK)
            cfg->max_streams = (int)x;
    } else if (!strcmp(name, "max-streams-per-client")) {
        if ((st = parse_int("--max-streams-per-client", v, 1, 100000, &x, err)) == NN_OK)
            cfg->max_streams_per_client = (int)x;
    } else if (!strcmp(name, "max-spec-bytes")) {
        if ((st = parse_int("--max-spec-bytes", v, 256, (int64_t)1 << 30, &x, err)) == NN_OK)
            cfg->max_spec_bytes = x;
    } else if (!strcmp(name, "max-params")) {
        if ((st = parse_int("--max-params", v, 1, (int64_t)1 << 40, &x, err)) == NN_OK)
            cfg->max_params = x;
    } else if (!strcmp(name, "timeout")) {
        if ((st = parse_int("--timeout", v, 1, 86400, &x, err)) == NN_OK) cfg->timeout = (int)x;
    } else if (!strcmp(name, "max-epoch-events")) {
        if ((st = parse_int("--max-epoch-events", v, 10, 100000000, &x, err)) == NN_OK)
            cfg->max_epoch_events = x;
    } else if (!strcmp(name, "lease")) {
        if ((st = parse_int("--lease", v, 1, 3600, &x, err)) == NN_OK) cfg->lease_seconds = (int)x;
    } else if (!strcmp(name, "min-body-rate")) {
        if ((st = parse_int("--min-body-rate", v, 1, (int64_t)1 << 30, &x, err)) == NN_OK)
            cfg->min_body_rate = x;
    } else if (!strcmp(name, "work-threads")) {
        if ((st = parse_int("--work-threads", v, 1, 64, &x, err)) == NN_OK)
            cfg->work_threads = (int)x;
    } else if (!strcmp(name, "max-work-queue")) {
        if ((st = parse_int("--max-work-queue", v, 1, 100000, &x, err)) == NN_OK)
            cfg->max_work_queue = (int)x;
    } else if (!strcmp(name, "table-cache")) {
        if ((st = parse_int("--table-cache", v, 0, (int64_t)1 << 40, &x, err)) == NN_OK)
            cfg->table_cache = x;
    } else if (!strcmp(name, "max-uploads-per-client")) {
        if ((st = parse_int("--max-uploads-per-client", v, 1, 100000, &x, err)) == NN_OK)
            cfg->max_uploads_per_client = (int)x;
    } else {
        st = nn_error_set(err, NN_ERR_INVALID, "unknown option --%s (see nnd --help)", name);
    }
    return st;
}

static const char *const env_names[][2] = {
    {"NND_LISTEN", "listen"},
    {"NND_DATA_DIR", "data-dir"},
    {"NND_DB", "db"},
    {"NND_WEB_DIR", "web-dir"},
    {"NND_WORKERS", "workers"},
    {"NND_MAX_ACTIVE_RUNS", "max-active-runs"},
    {"NND_HTTP_THREADS", "http-threads"},
    {"NND_MAX_UPLOAD", "max-upload"},
    {"NND_MAX_BODY", "max-body"},
    {"NND_MAX_QUEUED", "max-queued"},
    {"NND_MAX_STREAMS", "max-streams"},
    {"NND_TOKEN", "token"},
    {"NND_CORS_ORIGIN", "cors-origin"},
    {"NND_MAX_STREAMS_PER_CLIENT", "max-streams-per-client"},
    {"NND_MAX_SPEC_BYTES", "max-spec-bytes"},
    {"NND_MAX_PARAMS", "max-params"},
    {"NND_TIMEOUT", "timeout"},
    {"NND_LEASE", "lease"},
    {"NND_MAX_EPOCH_EVENTS", "max-epoch-events"},
    {"NND_MIN_BODY_RATE", "min-body-rate"},
    {"NND_MAX_UPLOADS_PER_CLIENT", "max-uploads-per-client"},
    {"NND_WORK_THREADS", "work-threads"},
    {"NND_MAX_WORK_QUEUE", "max-work-queue"},
    {"NND_TABLE_CACHE", "table-cache"},
};

nn_status srv_config_parse(srv_config *cfg, int argc, char **argv, int *help, int *version,
                           nn_error *err) {
    memset(cfg, 0, sizeof *cfg);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    memcpy(cfg->listen_host, "127.0.0.1", 10);
    cfg->port = 8080;
    memcpy(cfg->data_dir, "nnd-data", 9);
    (void)snprintf(cfg->web_dir, sizeof cfg->web_dir, "%s", NND_WEB_DIR_DEFAULT);
    cfg->workers = cores > 0 ? (int)cores : 2;
    /* one HTTP thread per two cores: they only read (every write is a work thread's,
       srv_work.h), and each more thread adds time slices to a request's tail (bench/) */
    cfg->http_threads = cores < 4 ? 1 : cores > 16 ? 8 : (int)(cores / 2);
    cfg->max_active = 2;
    cfg->max_upload = (int64_t)256 << 20;
    cfg->max_body = (int64_t)16 << 20;
    cfg->max_queued = 64;
    cfg->max_streams = 256;
    cfg->max_streams_per_client = 16;
    cfg->max_spec_bytes = (int64_t)1 << 20;
    cfg->max_params = 50000000;
    cfg->timeout = 30;
    cfg->min_body_rate = 1024;
    cfg->max_uploads_per_client = 16;
    cfg->work_threads = 2;
    cfg->max_work_queue = 256;
    cfg->table_cache = (int64_t)512 << 20;
    cfg->lease_seconds = 30;
    cfg->max_epoch_events = 100000;
    *help = *version = 0;
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++) {
        /* NOLINTNEXTLINE(concurrency-mt-unsafe): parsed before any thread starts */
        const char *v = getenv(env_names[i][0]);
        if (v && *v && apply(cfg, env_names[i][1], v, err) != NN_OK)
            return nn_error_prefix(err, "%s: ", env_names[i][0]);
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            *help = 1;
        else if (!strcmp(a, "--version"))
            *version = 1;
        else if (!strcmp(a, "--quiet"))
            cfg->quiet = 1;
        else if (strncmp(a, "--", 2) != 0 || !strcmp(a, "--token"))
            return nn_error_set(err, NN_ERR_INVALID, "unexpected argument \"%s\" (see nnd --help)",
                                a);
        else {
            const char *eq = strchr(a, '=');
            char name[64];
            size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            if (len >= sizeof name)
                return nn_error_set(err, NN_ERR_INVALID, "unknown option %s", a);
            memcpy(name, a + 2, len);
            name[len] = '\0';
            const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) return nn_error_set(err, NN_ERR_INVALID, "%s needs a value", a);
            if (apply(cfg, name, v, err) != NN_OK) return err->code;
        }
    }
    return NN_OK;
}
