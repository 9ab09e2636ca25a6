/* nn_date.c — strptime-style date matching and days-from-civil, locale- and TZ-free. */
#include "nn_date.h"

#include <ctype.h>
#include <string.h>

static const char *const month_names[12] = {"january",   "february", "march",    "april",
                                            "may",       "june",     "july",     "august",
                                            "september", "october",  "november", "december"};

int64_t nn_days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                  /* [0, 399] */
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static const int month_len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

static int days_in_month(int64_t y, int m) { return m == 2 && is_leap(y) ? 29 : month_len[m - 1]; }

int nn_date_check_format(const char *fmt) {
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') continue;
        f++;
        if (!*f) return '%';
        if (!strchr("YymdHMSjb%", *f)) return (unsigned char)*f;
    }
    return 0;
}

/* Reads 1..max_digits decimal digits at *s into *v; returns 0 on success. */
static int read_num(const char **s, int max_digits, int *v) {
    int n = 0, x = 0;
    while (n < max_digits && isdigit((unsigned char)(*s)[n])) x = x * 10 + ((*s)[n++] - '0');
    if (!n) return -1;
    *s += n;
    *v = x;
    return 0;
}

static int read_month_name(const char **s, int *month) {
    for (int m = 0; m < 12; m++) {
        size_t full = strlen(month_names[m]);
        size_t n = 0;
        while (n < full && (*s)[n] && tolower((unsigned char)(*s)[n]) == month_names[m][n]) n++;
        if (n == full || n == 3) { /* full name, or its three-letter abbreviation */
            *s += n;
            *month = m + 1;
            return 0;
        }
    }
    return -1;
}

typedef struct fields {
    int year, month, day, hour, minute, second, yearday;
    int have_md, have_yday;
} fields;

/* Matches one directive c at *s into f; returns 0 on success. */
static int match_directive(char c, const char **s, fields *f) {
    int v = 0;
    switch (c) {
    case 'Y':
        return read_num(s, 4, &f->year);
    case 'y':
        if (read_num(s, 2, &v)) return -1;
        f->year = v < 69 ? 2000 + v : 1900 + v;
        return 0;
    case 'm':
        f->have_md = 1;
        return read_num(s, 2, &f->month) || f->month < 1 || f->month > 12;
    case 'b':
        f->have_md = 1;
        return read_month_name(s, &f->month);
    case 'd':
        f->have_md = 1;
        return read_num(s, 2, &f->day) || f->day < 1 || f->day > 31;
    case 'H':
        return read_num(s, 2, &f->hour) || f->hour > 23;
    case 'M':
        return read_num(s, 2, &f->minute) || f->minute > 59;
    case 'S':
        return read_num(s, 2, &f->second) || f->second > 60;
    case 'j':
        f->have_yday = 1;
        return read_num(s, 3, &f->yearday) || f->yearday < 1 || f->yearday > 366;
    case '%':
        return *(*s)++ == '%' ? 0 : -1;
    default:
        return -1;
    }
}

static int match(const char *s, const char *fmt, fields *f) {
    for (; *fmt; fmt++) {
        if (isspace((unsigned char)*fmt)) {
            while (isspace((unsigned char)*s)) s++;
        } else if (*fmt == '%') {
            fmt++;
            if (!*fmt || match_directive(*fmt, &s, f)) return -1;
        } else if (*s++ != *fmt) {
            return -1;
        }
    }
    return *s ? -1 : 0;
}

int nn_date_parse(const char *text, const char *fmt, nn_date *out) {
    fields f = {.year = 1970, .month = 1, .day = 1};
    if (match(text, fmt, &f)) return -1;
    int64_t jan1 = nn_days_from_civil(f.year, 1, 1);
    if (f.have_yday) {
        if (f.yearday > 365 + is_leap(f.year)) return -1;
        int m = 1, d = f.yearday;
        while (d > days_in_month(f.year, m)) d -= days_in_month(f.year, m++);
        if (f.have_md && (m != f.month || d != f.day)) return -1;
        f.month = m;
        f.day = d;
    }
    if (f.day > days_in_month(f.year, f.month)) return -1;
    int64_t days = nn_days_from_civil(f.year, f.month, f.day);
    out->timestamp = days * 86400 + (int64_t)f.hour * 3600 + (int64_t)f.minute * 60 + f.second;
    out->year = f.year;
    out->month = f.month;
    out->day = f.day;
    out->hour = f.hour;
    out->minute = f.minute;
    out->second = f.second;
    out->weekday = (int)(((days + 3) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
    out->yearday = (int)(days - jan1) + 1;
    return 0;
}
