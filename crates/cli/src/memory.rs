//! The default memory budget of a run: half the machine's memory, or less inside a cgroup
//! (a container, a Kubernetes pod, a Databricks or YARN executor) whose memory limit is lower.
//! The readers take the text of `/proc` files and a root folder, so that tests need no real
//! cgroup.

use std::path::{Path, PathBuf};

/// The memory budget of a run given neither `buckets` nor `memory_limit`: half of this
/// machine's memory (Linux `/proc/meminfo`), or three quarters of the process's cgroup memory
/// limit when that is less (a container, a Kubernetes pod, a Databricks or YARN executor: the
/// kernel kills the run at the cgroup limit, whatever the machine has), so that an input too
/// large for one pass is processed in buckets instead of exhausting memory; `None` where
/// neither can be read (one pass). `--buckets 1` forces one pass.
pub fn default_memory_limit() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| meminfo_total(&t));
    let cgroup = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|t| cgroup_memory_limit(&t, Path::new("/sys/fs/cgroup")));
    memory_budget(total, cgroup)
}

/// The budget from the machine's memory and the cgroup limit (both in bytes): half the
/// machine, or 3/4 of the cgroup limit when less. The cgroup limit is a hard ceiling (the OOM
/// killer) and the budget an estimate of the peak, hence the quarter kept in reserve.
pub fn memory_budget(total: Option<u64>, cgroup: Option<u64>) -> Option<u64> {
    let from_cgroup = cgroup.map(|l| l / 4 * 3);
    match (total.map(|t| t / 2), from_cgroup) {
        (Some(h), Some(c)) => Some(h.min(c)),
        (h, c) => h.or(c),
    }
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
pub fn meminfo_total(meminfo: &str) -> Option<u64> {
    let kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// cgroup v1's `memory.limit_in_bytes` when unlimited is a page-rounded `i64::MAX`
/// (9223372036854771712); anything this large is no limit.
const CGROUP_V1_UNLIMITED: u64 = 1 << 62;

/// The memory limit of the process's cgroup, in bytes, from the text of `/proc/self/cgroup`
/// and the cgroup filesystem mounted at `root` (`/sys/fs/cgroup`); `None` when there is none.
/// The smallest limit of the cgroup and its ancestors counts (a parent's limit binds its
/// children). cgroup v2: `0::/PATH` and `ROOT/PATH/memory.max` (`max` = none). cgroup v1: a
/// line whose controllers include `memory`, `N:memory:/PATH`, and
/// `ROOT/memory/PATH/memory.limit_in_bytes`. In a container without a cgroup namespace
/// `/proc/self/cgroup` names the host's path while `root` holds the container's own cgroup:
/// its top level, which the walk up to `root` reads, is the limit.
pub fn cgroup_memory_limit(proc_self_cgroup: &str, root: &Path) -> Option<u64> {
    let mut limit: Option<u64> = None;
    let mut take = |v: Option<u64>| {
        if let Some(v) = v {
            limit = Some(limit.map_or(v, |l| l.min(v)));
        }
    };
    for line in proc_self_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let rel = path.trim().trim_start_matches('/');
        if id == "0" && controllers.is_empty() {
            for dir in ancestors_within(&root.join(rel), root) {
                take(read_limit(&dir.join("memory.max"), u64::MAX));
            }
        } else if controllers.split(',').any(|c| c == "memory") {
            let base = root.join("memory");
            for dir in ancestors_within(&base.join(rel), &base) {
                take(read_limit(
                    &dir.join("memory.limit_in_bytes"),
                    CGROUP_V1_UNLIMITED,
                ));
            }
        }
    }
    limit
}

/// `dir` and its ancestors down to `root` (included).
fn ancestors_within(dir: &Path, root: &Path) -> Vec<PathBuf> {
    dir.ancestors()
        .take_while(|a| a.starts_with(root))
        .map(Path::to_path_buf)
        .collect()
}

/// A limit file's value: a number of bytes below `unlimited`, else none (`max`, absent,
/// unreadable, huge).
fn read_limit(path: &Path, unlimited: u64) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: u64 = text.trim().parse().ok()?;
    (v < unlimited).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn default_memory_budget_is_half_the_machine_or_less() {
        let total = meminfo_total(&std::fs::read_to_string("/proc/meminfo").unwrap()).unwrap();
        let budget = default_memory_limit().unwrap();
        assert!(budget <= total / 2 && budget > 0, "{budget} of {total}");
    }

    #[test]
    fn meminfo_total_is_read_in_bytes() {
        let text = "MemTotal:       16318480 kB\nMemFree:         1234 kB\n";
        assert_eq!(meminfo_total(text), Some(16318480 * 1024));
        assert_eq!(meminfo_total("MemFree: 1 kB\n"), None);
    }

    #[test]
    fn the_budget_is_the_smaller_of_half_the_machine_and_most_of_the_cgroup() {
        let gib = 1u64 << 30;
        assert_eq!(memory_budget(Some(64 * gib), None), Some(32 * gib));
        assert_eq!(memory_budget(Some(64 * gib), Some(8 * gib)), Some(6 * gib));
        assert_eq!(memory_budget(Some(8 * gib), Some(64 * gib)), Some(4 * gib));
        assert_eq!(memory_budget(None, Some(4 * gib)), Some(3 * gib));
        assert_eq!(memory_budget(None, None), None);
    }

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn cgroup_v2_limits_are_read_from_the_process_cgroup_and_its_parents() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        // A Kubernetes pod: the container's cgroup has no limit of its own ("max"), the pod's
        // has 4 GiB; a limit above it in the tree is larger.
        write(root, "kubepods.slice/memory.max", "17179869184\n");
        write(root, "kubepods.slice/pod1/memory.max", "4294967296\n");
        write(root, "kubepods.slice/pod1/cri-abc/memory.max", "max\n");
        let text = "0::/kubepods.slice/pod1/cri-abc\n";
        assert_eq!(cgroup_memory_limit(text, root), Some(4 << 30));
        // No limit anywhere: "max", or no memory.max (the root cgroup has none).
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "user.slice/memory.max", "max\n");
        assert_eq!(cgroup_memory_limit("0::/user.slice\n", d.path()), None);
        assert_eq!(cgroup_memory_limit("0::/\n", d.path()), None);
        // A container with a cgroup namespace ("0::/"), or without one (the host's path, which
        // does not exist inside): the top-level memory.max is the container's limit.
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "memory.max", "2147483648\n");
        assert_eq!(cgroup_memory_limit("0::/\n", d.path()), Some(2 << 30));
        assert_eq!(
            cgroup_memory_limit("0::/docker/0123abcd\n", d.path()),
            Some(2 << 30)
        );
    }

    #[test]
    fn cgroup_v1_limits_treat_the_huge_value_as_unlimited() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let text = "12:pids:/docker/abc\n4:cpu,cpuacct:/docker/abc\n9:memory:/docker/abc\n1:name=systemd:/docker/abc\n0::/\n";
        write(
            root,
            "memory/memory.limit_in_bytes",
            "9223372036854771712\n",
        );
        assert_eq!(cgroup_memory_limit(text, root), None);
        write(
            root,
            "memory/docker/abc/memory.limit_in_bytes",
            "1073741824\n",
        );
        assert_eq!(cgroup_memory_limit(text, root), Some(1 << 30));
        // Controllers named together (`memory,cpu`) count too.
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "memory/memory.limit_in_bytes", "536870912\n");
        assert_eq!(
            cgroup_memory_limit("3:cpu,memory:/\n", d.path()),
            Some(512 << 20)
        );
        // Garbage lines and unreadable values are ignored.
        write(d.path(), "memory/x/memory.limit_in_bytes", "lots\n");
        assert_eq!(
            cgroup_memory_limit("nonsense\n3:memory:/x\n", d.path()),
            Some(512 << 20)
        );
    }
}
