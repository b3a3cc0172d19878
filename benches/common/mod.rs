//! What more than one benchmark needs.

use std::time::Duration;

/// The CPU time (user and system) the calling thread has used: unlike wall time, it leaves out the
/// time other programs on a busy machine held the CPU, and the time spent waiting for the server.
pub fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "CLOCK_THREAD_CPUTIME_ID");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}
