/* nn_date.h — calendar dates without the C library's locale and time zone.
 *
 * DESIGN: strptime/mktime/timegm depend on the process's locale and TZ and are not in C11, so
 * dates are parsed here by a small strptime-style matcher and converted with the proleptic
 * Gregorian days-from-civil algorithm (H. Hinnant). Everything is UTC.
 */
#ifndef NN_DATE_H
#define NN_DATE_H

#include <stdint.h>

typedef struct nn_date {
    int64_t timestamp; /* seconds since 1970-01-01T00:00:00 UTC */
    int year;
    int month; /* 1..12 */
    int day;   /* 1..31 */
    int hour, minute, second;
    int weekday; /* 0 = Monday .. 6 = Sunday */
    int yearday; /* 1..366 */
} nn_date;

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; negative before 1970). */
int64_t nn_days_from_civil(int64_t y, int m, int d);

/* Checks that fmt uses only the supported directives: %Y (1–4 digits) %y (2 digits, 69–99 →
 * 19xx, 00–68 → 20xx) %m %d %H %M %S (1–2 digits) %j (1–3 digits) %b (English month name,
 * abbreviated or full, any case) and %%. Other characters match themselves, except that white
 * space matches any run (possibly empty) of white space. Returns 0 if fmt is valid, else the
 * offending directive character (or '%' for a trailing '%'). */
int nn_date_check_format(const char *fmt);

/* Matches all of text against fmt and fills *out. Fields not in fmt default to 1970-01-01
 * 00:00:00; %j without %m/%d sets month and day, and with them must agree. Returns 0 on a
 * match, -1 otherwise (including impossible dates such as 2015-02-29). */
int nn_date_parse(const char *text, const char *fmt, nn_date *out);

#endif
