//! SIGTERM and SIGINT: stop cleanly.
//!
//! A scheduler stops a job with SIGTERM (Kubernetes, systemd, Airflow, Slurm), a person with
//! Ctrl-C (SIGINT). Either one makes caregap remove its temporary folders (the staging folder,
//! a run's hash partition: [`crate::outdir`]), log one line and exit with the conventional
//! status 128 + the signal's number (143 for SIGTERM, 130 for SIGINT). The previous output is
//! untouched: a staging folder is swapped into place only while the registry of temporary
//! folders is held, and the handler holds it from its first step to the exit. A second signal
//! during the clean-up exits at once. SIGKILL cannot be caught: the next run on that output
//! removes what the killed run left ([`crate::outdir::OutputLock::acquire`]).
//!
//! The signals are received by `signal-hook`'s iterator on a thread of its own (no code of ours
//! runs in a signal handler), so the clean-up may take locks, log and remove folders.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The name of a signal we handle.
fn name(sig: i32) -> &'static str {
    match sig {
        SIGTERM => "SIGTERM",
        SIGINT => "SIGINT",
        _ => "a signal",
    }
}

/// Install the handlers for SIGTERM and SIGINT (once, at the start of `main`).
pub fn install() -> std::io::Result<()> {
    let stopping = Arc::new(AtomicBool::new(false));
    for sig in [SIGTERM, SIGINT] {
        // A second signal while the first is being handled: exit at once.
        signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&stopping))?;
    }
    let mut signals = Signals::new([SIGTERM, SIGINT])?;
    std::thread::Builder::new()
        .name("caregap-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                stopping.store(true, std::sync::atomic::Ordering::SeqCst);
                stop(sig);
            }
        })?;
    Ok(())
}

/// Remove the temporary folders, say so, and exit with 128 + `sig`.
fn stop(sig: i32) -> ! {
    let stopped = crate::outdir::remove_temporaries_and_stop();
    let status = 128 + sig;
    let mut msg = format!("stopped by {}", name(sig));
    if !stopped.removed.is_empty() {
        msg.push_str(&format!(
            "; removed {}",
            stopped
                .removed
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    msg.push_str(if stopped.published {
        "; the outputs had already been published"
    } else {
        "; no output was replaced"
    });
    if crate::log::json() {
        tracing::error!(exit_status = status, signal = name(sig), "{msg}");
    } else {
        eprintln!("caregap: {msg}");
    }
    std::process::exit(status)
}
