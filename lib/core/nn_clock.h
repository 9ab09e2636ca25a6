/* nn_clock.h — the one clock of libnn, nn and nnd: monotonic seconds for durations, wall-clock
 * milliseconds for timestamps. */
#ifndef NN_CLOCK_H
#define NN_CLOCK_H

#include <stdint.h>

/* Seconds on the monotonic clock (for durations; the origin is arbitrary). */
double nn_clock_seconds(void);
/* Milliseconds on the monotonic clock. */
int64_t nn_clock_mono_ms(void);
/* Milliseconds since the Unix epoch (wall clock, for timestamps). */
int64_t nn_clock_wall_ms(void);

#endif
