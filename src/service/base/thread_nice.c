/* base/thread_nice.c - a background thread yields the processor to the
 * threads that answer requests (thread_nice.h): setpriority on the
 * thread's own id, which Linux treats as a process of its own for nice
 * values. */
#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/thread_nice.h"

#define NICEST 19

static id_t this_thread(void)
{
    return (id_t)syscall(SYS_gettid);
}

int hs_thread_nice(void)
{
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, this_thread());
    return errno ? 0 : nice; /* -1 is a valid value: errno tells */
}

int hs_thread_be_nicer(int increment)
{
    if (increment <= 0)
        return 0;
    int target = hs_thread_nice() + increment;
    if (target > NICEST)
        target = NICEST;
    return setpriority(PRIO_PROCESS, this_thread(), target) ? errno : 0;
}
