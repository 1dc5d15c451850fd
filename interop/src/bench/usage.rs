//! What a process group uses, read from `/proc`: CPU-seconds and resident memory.

/// CPU-seconds (user and system) spent so far by every live process of the group `pgid`.
pub(super) fn cpu_of_group(pgid: Option<i32>) -> f64 {
    let Some(pgid) = pgid else { return 0.0 };
    let Ok(all) = procfs::process::all_processes() else { return 0.0 };
    let ticks: u64 = all
        .filter_map(Result::ok)
        .filter_map(|p| p.stat().ok())
        .filter(|stat| stat.pgrp == pgid)
        .map(|stat| stat.utime + stat.stime)
        .sum();
    ticks as f64 / procfs::ticks_per_second() as f64
}

/// Resident memory, in MiB, of every live process of the group `pgid`.
pub(super) fn rss_of_group(pgid: Option<i32>) -> f64 {
    let Some(pgid) = pgid else { return 0.0 };
    let Ok(all) = procfs::process::all_processes() else { return 0.0 };
    let kib: u64 = all
        .filter_map(Result::ok)
        .filter(|p| p.stat().is_ok_and(|stat| stat.pgrp == pgid))
        .filter_map(|p| p.status().ok().and_then(|status| status.vmrss))
        .sum();
    kib as f64 / 1024.0
}

/// CPU-seconds (user and system) this process (the load generator) has spent so far.
pub(super) fn cpu_of_self() -> f64 {
    procfs::process::Process::myself()
        .and_then(|me| me.stat())
        .map_or(0.0, |stat| (stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64)
}
