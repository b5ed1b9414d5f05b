/* base/thread_nice.h - a background thread yields the processor to the
 * threads that answer requests.
 *
 * A training keeps every core busy for minutes; run at the priority of
 * the HTTP threads, it competes with them for the same cores and the
 * queries of every user wait behind it (the "heavy training never
 * slows uploads and queries"). On Linux a thread's nice value is its own
 * (the threads of a process do not share it, whatever POSIX says) and a
 * thread created later inherits its creator's, so a job thread made nicer
 * before it runs a job also makes nicer the pools the engine creates for
 * that job's training, prediction and analysis. The scheduler then gives
 * the job's threads the processor that the request threads leave idle:
 * at nice 10 they get about a tenth of a contended core, all of an idle
 * one.
 */
#ifndef HEALER_HS_THREAD_NICE_H
#define HEALER_HS_THREAD_NICE_H

/* Makes the calling thread `increment` (0-19) nicer than it is now,
 * capped at 19 (an unprivileged thread can always lower its priority,
 * never raise it back). Answers 0, or an errno value when the system
 * refused (the thread keeps its priority). 0 is a no-op. */
int hs_thread_be_nicer(int increment);

/* The calling thread's nice value (-20 to 19). */
int hs_thread_nice(void);

#endif
