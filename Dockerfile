# nnd in a container: a build stage with the -dev packages, a run stage with only the shared
# libraries, the two binaries, the dashboard (web/, when the tree has it) and the example specs.
#
#   docker build -t nnd .
#   podman build --format docker -t nnd .    (podman's default OCI format drops the HEALTHCHECK;
#                                             without registry access, see container-base.sh in
#                                             shared/tools for local base images)
#   docker run -p 8080:8080 -v nnd-data:/var/lib/nnd -e NND_TOKEN=... nnd
#
# The server listens on 0.0.0.0:8080 and keeps its database and uploads in the /var/lib/nnd volume.

FROM debian:bookworm AS build
# libxsmm (x86-64 only) is a static library: the run stage needs nothing for it
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config \
        libopenblas-dev libjansson-dev libcsv-dev libsqlite3-dev libmicrohttpd-dev libpq-dev \
        $([ "$(dpkg --print-architecture)" = amd64 ] && echo libxsmm-dev) \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DNN_TESTS=OFF \
 && cmake --build build --target nnd nn_cli -j"$(nproc)" \
 && mkdir -p /out/bin /out/web /out/examples \
 && install -m 0755 -s build/server/nnd build/cli/nn /out/bin/ \
 && cp examples/*.json /out/examples/ \
 && if [ -d web ]; then cp -R web/. /out/web/; fi

FROM debian:bookworm-slim
# dpkg leaves out the packages' docs, man pages and translations; apt's caches are removed
RUN printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-exclude /usr/share/man/*' \
        'path-exclude /usr/share/locale/*' 'path-exclude /usr/share/info/*' \
        > /etc/dpkg/dpkg.cfg.d/nnd-nodoc \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libopenblas0-pthread libjansson4 libcsv3 libsqlite3-0 libmicrohttpd12 libpq5 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
        /var/log/apt /var/log/dpkg.log \
 && groupadd --system --gid 10001 nnd \
 && useradd --system --uid 10001 --gid nnd --home-dir /var/lib/nnd --no-create-home \
        --shell /usr/sbin/nologin nnd \
 && install -d -o nnd -g nnd -m 0750 /var/lib/nnd
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/web/ /usr/share/nnd/web/
COPY --from=build /out/examples/ /usr/share/nnd/examples/
ENV NND_LISTEN=0.0.0.0:8080 \
    NND_DATA_DIR=/var/lib/nnd \
    NND_WEB_DIR=/usr/share/nnd/web
VOLUME /var/lib/nnd
WORKDIR /var/lib/nnd
EXPOSE 8080
# No curl in the image: bash's /dev/tcp asks 127.0.0.1 for /healthz on the port NND_LISTEN names
# (so change the port through NND_LISTEN, not --listen, and keep a 0.0.0.0 or 127.0.0.1 host).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${NND_LISTEN##*:} && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '200 OK' <&3"]
USER nnd
ENTRYPOINT ["nnd"]
