/* test_date.c — nn_date against timestamps computed independently (Python's
 * datetime(..., tzinfo=timezone.utc).timestamp(), date.weekday(), timetuple().tm_yday). */
#include "check.h"
#include "nn_date.h"

static void test_date_kc_format_timestamps(void) {
    nn_date d;
    CHECK(nn_date_parse("20141013T000000", "%Y%m%dT%H%M%S", &d) == 0);
    CHECK(d.timestamp == 1413158400);
    CHECK(d.year == 2014 && d.month == 10 && d.day == 13);
    CHECK(d.weekday == 0); /* Monday */
    CHECK(d.yearday == 286);
    CHECK(nn_date_parse("20150227T000000", "%Y%m%dT%H%M%S", &d) == 0);
    CHECK(d.timestamp == 1424995200);
    CHECK(d.weekday == 4); /* Friday */
}

static void test_date_leap_day_and_time_of_day(void) {
    nn_date d;
    CHECK(nn_date_parse("2016-02-29 12:34:56", "%Y-%m-%d %H:%M:%S", &d) == 0);
    CHECK(d.timestamp == 1456749296);
    CHECK(d.yearday == 60);
    CHECK(d.weekday == 0);
    CHECK(nn_date_parse("2015-02-29", "%Y-%m-%d", &d) != 0); /* not a leap year */
    CHECK(nn_date_parse("1900-02-29", "%Y-%m-%d", &d) != 0); /* century, not leap */
    CHECK(nn_date_parse("2000-02-29", "%Y-%m-%d", &d) == 0); /* 400-year, leap */
    CHECK(d.timestamp == 951782400);
}

static void test_date_before_epoch(void) {
    nn_date d;
    CHECK(nn_date_parse("1969-07-20 20:17", "%Y-%m-%d %H:%M", &d) == 0);
    CHECK(d.timestamp == -14182980);
    CHECK(d.weekday == 6); /* Sunday */
    CHECK(nn_days_from_civil(1970, 1, 1) == 0);
    CHECK(nn_days_from_civil(1969, 12, 31) == -1);
}

static void test_date_month_names_two_digit_years_yearday(void) {
    nn_date d;
    CHECK(nn_date_parse("13 Oct 14", "%d %b %y", &d) == 0);
    CHECK(d.timestamp == 1413158400);
    CHECK(nn_date_parse("13 october 2014", "%d %b %Y", &d) == 0);
    CHECK(d.month == 10);
    CHECK(nn_date_parse("01/01/69", "%m/%d/%y", &d) == 0);
    CHECK(d.year == 1969);
    CHECK(nn_date_parse("2016-060", "%Y-%j", &d) == 0);
    CHECK(d.month == 2 && d.day == 29 && d.timestamp == 1456704000);
    CHECK(nn_date_parse("2015-366", "%Y-%j", &d) != 0);
    CHECK(nn_date_parse("100%", "%j%%", &d) == 0);
}

static void test_date_mismatches(void) {
    nn_date d;
    CHECK(nn_date_parse("2014-10-13", "%Y%m%dT%H%M%S", &d) != 0);
    CHECK(nn_date_parse("20141013T000000x", "%Y%m%dT%H%M%S", &d) != 0); /* trailing input */
    CHECK(nn_date_parse("20141313T000000", "%Y%m%dT%H%M%S", &d) != 0);  /* month 13 */
    CHECK(nn_date_parse("20140431T000000", "%Y%m%dT%H%M%S", &d) != 0);  /* April 31 */
    CHECK(nn_date_parse("20141013T240000", "%Y%m%dT%H%M%S", &d) != 0);  /* hour 24 */
    CHECK(nn_date_parse("", "%Y", &d) != 0);
    CHECK(nn_date_check_format("%Y%m%dT%H%M%S") == 0);
    CHECK(nn_date_check_format("%Y-%Q") == 'Q');
    CHECK(nn_date_check_format("%Y%") == '%');
}

int main(void) {
    RUN(test_date_kc_format_timestamps);
    RUN(test_date_leap_day_and_time_of_day);
    RUN(test_date_before_epoch);
    RUN(test_date_month_names_two_digit_years_yearday);
    RUN(test_date_mismatches);
    return check_summary();
}
