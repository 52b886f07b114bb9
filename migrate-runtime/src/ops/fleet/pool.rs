//! Running one job per database with bounded parallelism (std threads: the engine is
//! synchronous), in file order: at most `jobs` at once, the canary databases first (and the
//! rest only when none of them failed), and with `fail_fast` no new database after a failure.
//! Workers report through a channel; the calling thread sees every step, in the order they
//! happen, and is handed each result.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// How a fleet run proceeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Databases worked on at once (at least 1).
    pub jobs: usize,
    /// After a failure, start no new database.
    pub fail_fast: bool,
    /// Work on the first N databases, and on the rest only when none of them failed.
    pub canary: Option<usize>,
}

/// One step of a run, seen by the calling thread.
pub enum Step<R, P> {
    /// Work on database `i` starts.
    Started(usize),
    /// Database `i` reports progress.
    Progress(usize, P),
    /// Database `i` is done, with its result.
    Done(usize, R),
}

/// The work for database `i`, reporting progress through the function it is given.
pub type Work<'w, R, P> = dyn Fn(usize, &dyn Fn(P)) -> R + Sync + 'w;

enum Message<R, P> {
    Started(usize),
    Progress(usize, P),
    Done(usize, R),
}

/// Runs `work` for databases `0..n`, handing each result to `on` (databases never started,
/// after a failure with `fail_fast` or a failed canary, get no `Done`).
pub fn run<R: Send, P: Send>(
    n: usize,
    schedule: Schedule,
    work: &Work<'_, R, P>,
    failed: &(dyn Fn(&R) -> bool + Sync),
    on: &mut dyn FnMut(Step<R, P>),
) {
    let stop = AtomicBool::new(false);
    let any_failed = AtomicBool::new(false);
    let phases: Vec<Range<usize>> = match schedule.canary {
        Some(c) if c < n => vec![0..c, c..n],
        _ => std::iter::once(0..n).collect(),
    };
    for range in phases {
        let canary_failed = range.start > 0 && any_failed.load(Ordering::SeqCst);
        if stop.load(Ordering::SeqCst) || canary_failed {
            break;
        }
        phase(range, schedule, &stop, &any_failed, work, failed, on);
    }
}

fn phase<R: Send, P: Send>(
    range: Range<usize>,
    schedule: Schedule,
    stop: &AtomicBool,
    any_failed: &AtomicBool,
    work: &Work<'_, R, P>,
    failed: &(dyn Fn(&R) -> bool + Sync),
    on: &mut dyn FnMut(Step<R, P>),
) {
    let next = AtomicUsize::new(range.start);
    let end = range.end;
    let workers = schedule.jobs.max(1).min(range.len());
    std::thread::scope(|scope| {
        let (send, receive) = mpsc::channel::<Message<R, P>>();
        for _ in 0..workers {
            let send = send.clone();
            let next = &next;
            scope.spawn(move || {
                loop {
                    if schedule.fail_fast && stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= end {
                        break;
                    }
                    let _ = send.send(Message::Started(i));
                    let progress = |p: P| {
                        let _ = send.send(Message::Progress(i, p));
                    };
                    let result = work(i, &progress);
                    if failed(&result) {
                        any_failed.store(true, Ordering::SeqCst);
                        if schedule.fail_fast {
                            stop.store(true, Ordering::SeqCst);
                        }
                    }
                    let _ = send.send(Message::Done(i, result));
                }
            });
        }
        drop(send);
        for message in receive {
            match message {
                Message::Started(i) => on(Step::Started(i)),
                Message::Progress(i, p) => on(Step::Progress(i, p)),
                Message::Done(i, result) => on(Step::Done(i, result)),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn schedule(jobs: usize, fail_fast: bool, canary: Option<usize>) -> Schedule {
        Schedule {
            jobs,
            fail_fast,
            canary,
        }
    }

    /// Runs databases 0..n where those in `bad` fail; returns which ran.
    fn ran(n: usize, s: Schedule, bad: &[usize]) -> Vec<bool> {
        let work = |i: usize, _: &dyn Fn(())| !bad.contains(&i);
        let mut done = vec![false; n];
        run(n, s, &work, &|ok: &bool| !ok, &mut |step| {
            if let Step::Done(i, _) = step {
                done[i] = true;
            }
        });
        done
    }

    #[test]
    fn without_failures_every_database_runs_and_at_most_jobs_at_once() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let work = |_: usize, _: &dyn Fn(())| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::yield_now();
            running.fetch_sub(1, Ordering::SeqCst);
        };
        let mut done = 0;
        run(
            20,
            schedule(3, false, None),
            &work,
            &|_| false,
            &mut |step| {
                if let Step::Done(..) = step {
                    done += 1;
                }
            },
        );
        assert_eq!(done, 20);
        assert!(most.load(Ordering::SeqCst) <= 3);
    }

    #[test]
    fn continue_runs_the_rest_after_a_failure() {
        assert_eq!(ran(5, schedule(1, false, None), &[1]), vec![true; 5]);
    }

    #[test]
    fn fail_fast_starts_nothing_after_a_failure() {
        assert_eq!(
            ran(5, schedule(1, true, None), &[1]),
            vec![true, true, false, false, false]
        );
    }

    #[test]
    fn a_failed_canary_stops_the_rest_and_a_good_one_lets_them_run() {
        assert_eq!(
            ran(6, schedule(4, false, Some(2)), &[1]),
            vec![true, true, false, false, false, false]
        );
        assert_eq!(ran(6, schedule(4, false, Some(2)), &[4]), vec![true; 6]);
    }

    #[test]
    fn steps_arrive_started_then_progress_then_done() {
        let work = |i: usize, progress: &dyn Fn(usize)| {
            progress(i * 10);
            i
        };
        let seen = Mutex::new(Vec::new());
        run(
            3,
            schedule(2, false, None),
            &work,
            &|_| false,
            &mut |step| {
                let s = match step {
                    Step::Started(i) => format!("start {i}"),
                    Step::Progress(i, p) => format!("progress {i} {p}"),
                    Step::Done(i, r) => format!("done {i} {r}"),
                };
                seen.lock().expect("lock").push(s);
            },
        );
        let seen = seen.into_inner().expect("lock");
        for i in 0..3 {
            let at = |s: String| seen.iter().position(|x| *x == s).expect("seen");
            assert!(at(format!("start {i}")) < at(format!("progress {i} {}", i * 10)));
            assert!(at(format!("progress {i} {}", i * 10)) < at(format!("done {i} {i}")));
        }
    }
}
