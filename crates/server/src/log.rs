//! The server's log: every event goes through one [`Log`] to one [`Sink`], in order.
//!
//! A message must be in the log before it is acknowledged (PROTOCOL.md §5), so [`Log::record`]
//! returns only once its record is written *and flushed*.
//!
//! Records are written by group commit, by the tasks that log them, with no writer thread to
//! hand them to. A task queues its entry; if no task is writing, it becomes the writer. It first
//! yields once, so that the other tasks made ready by the same poll of the sockets queue their
//! entries too: under the bench's `small` load, about 11 records a write where it had been 2 to 8,
//! and 11% more messages a second (docs/BENCH.md).
//! Then it takes every entry waiting, writes them all, flushes once, and tells their tasks; then
//! it does the same for what arrived meanwhile, until nothing waits. So one flush carries every
//! record that arrived during the last one, no acknowledgement is ahead of its record, and no
//! record is handed to another thread to be written, and the tasks that wait are woken once per
//! batch.
//!
//! Only the writer touches the sink: a slow stdout holds at most one worker thread, in its write,
//! and every other task that logs waits for its turn without blocking a thread. At most
//! [`CAPACITY`] entries wait; past that, logging waits too.
//!
//! Once a write fails, the log is broken for good: [`Log::failed`] completes, every later
//! [`Log::record`] fails at once, and every entry waiting is dropped unwritten.

use interop_wire::MessageView;
use interop_wire::json::ServerEvent;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};
use tokio::sync::watch;

/// How many entries may wait to be written; a stalled stdout slows the server down instead of
/// queueing without limit.
pub const CAPACITY: usize = 1024;

/// The log could not be written, so nothing more can be acknowledged.
#[derive(Clone, Debug, thiserror::Error)]
#[error("writing output: {0}")]
pub struct OutputError(Arc<str>);

impl OutputError {
    fn new(reason: impl std::fmt::Display) -> Self {
        OutputError(reason.to_string().into())
    }
}

/// Where records go: the printer, or a test's own.
pub trait Sink: Send {
    /// Writes one event's record (buffered, perhaps). `view`: for a `message` event without
    /// `text` (binary, or too long to print), the view its text-format summary line is printed
    /// from, since the summary previews the first bytes, which the event does not keep.
    fn write(&mut self, event: &ServerEvent, view: Option<&MessageView>) -> io::Result<()>;
    /// Pushes everything written so far out.
    fn flush(&mut self) -> io::Result<()>;
}

/// The log, shared by every task of the server (clones are cheap).
#[derive(Clone)]
pub struct Log {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log").field("failure", &self.failure()).finish_non_exhaustive()
    }
}

struct Shared {
    queue: Mutex<Queue>,
    /// Locked only by the writer of the moment, so never contended.
    sink: Mutex<Box<dyn Sink>>,
    /// For [`Log::failed`]; the queue keeps its own copy.
    failure: watch::Sender<Option<OutputError>>,
}

/// What a task that logs does next.
enum Step {
    /// Become the writer.
    Write,
    /// Wait for the writer, until every entry below this ticket is written.
    Wait(u64),
}

/// One event, numbered in the order it was queued.
struct Entry {
    ticket: u64,
    event: ServerEvent,
    view: Option<MessageView>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Entry>,
    /// The ticket of the next entry queued.
    next: u64,
    /// Every entry with a lower ticket is written (or, once the log is broken, dropped).
    done: u64,
    /// Whether some task is the writer.
    writing: bool,
    /// Why the log is broken, if it is.
    failure: Option<OutputError>,
    /// Tasks waiting for the writer, each woken once every entry below its key is written (or
    /// the log breaks, or the writer steps down).
    sleepers: Vec<(u64, Waker)>,
}

impl Queue {
    /// The tasks to wake now; all of them once nobody writes or the log is broken.
    fn woken(&mut self) -> Vec<Waker> {
        let done = if self.writing && self.failure.is_none() { self.done } else { u64::MAX };
        self.sleepers.extract_if(.., |(key, _)| *key < done).map(|(_, waker)| waker).collect()
    }
}

impl Log {
    /// A log writing to `sink`.
    pub fn new(sink: impl Sink + 'static) -> Self {
        let shared = Shared {
            queue: Mutex::default(),
            sink: Mutex::new(Box::new(sink)),
            failure: watch::Sender::new(None),
        };
        Log { shared: Arc::new(shared) }
    }

    /// Queues `event` for writing, and writes it if no task is writing: it is written soon, but
    /// this does not wait for that. Once the log is broken it is dropped.
    pub async fn emit(&self, event: ServerEvent) {
        // As a record does, but done once the entry is queued (or written, if this task became
        // the writer).
        let _ = self.log(event, None, false).await;
    }

    /// Writes `event` and waits until it is written and flushed: after `Ok`, it is in the log.
    /// (A message goes through [`record_message`](Self::record_message).)
    pub async fn record(&self, event: ServerEvent) -> Result<(), OutputError> {
        self.log(event, None, true).await
    }

    /// Writes the `message` event of message `seq` of connection `conn` from `peer`, as
    /// [`record`](Self::record) does, keeping `view` if its text-format line needs it
    /// ([`Sink::write`]).
    pub async fn record_message(
        &self,
        conn: u64,
        peer: String,
        seq: u64,
        view: MessageView,
    ) -> Result<(), OutputError> {
        let (event, summary) = ServerEvent::message(conn, peer, seq, view);
        self.log(event, summary, true).await
    }

    /// Why the log is broken, if it is.
    pub fn failure(&self) -> Option<OutputError> {
        self.shared.failure.borrow().clone()
    }

    /// Completes when the log breaks.
    pub async fn failed(&self) -> OutputError {
        let mut failure = self.shared.failure.subscribe();
        match failure.wait_for(Option::is_some).await {
            Ok(failure) => failure.clone().unwrap_or_else(stopped),
            // Unreachable while `self` holds the sender; nothing more is written either way.
            Err(_) => stopped(),
        }
    }

    /// Writes whatever is still queued and says whether the whole log was written: for the end,
    /// once no task logs any more. (An `emit` whose writer was cancelled can leave its entry
    /// queued.)
    pub fn close(self) -> Result<(), OutputError> {
        let shared = &*self.shared;
        let mut queue = shared.queue();
        let batch = std::mem::take(&mut queue.waiting);
        if queue.failure.is_none()
            && let Err(err) = shared.write(&batch)
        {
            shared.break_with(&mut queue, err);
        }
        queue.failure.clone().map_or(Ok(()), Err)
    }

    /// Queues an entry, then either returns (`wait` false) or waits until it is written; writing
    /// it, and whatever else waits, when no other task is writing.
    async fn log(
        &self,
        event: ServerEvent,
        view: Option<MessageView>,
        wait: bool,
    ) -> Result<(), OutputError> {
        let shared = &*self.shared;
        let mut entry = Some((event, view));
        let mut ticket = None;
        loop {
            // Decided under the lock, which is not held across an await.
            let step = {
                let mut queue = shared.queue();
                if let Some(failure) = &queue.failure {
                    return Err(failure.clone());
                }
                if ticket.is_none() && queue.waiting.len() < CAPACITY {
                    let (event, view) = entry.take().expect("queued once");
                    let next = queue.next;
                    queue.waiting.push(Entry { ticket: next, event, view });
                    queue.next += 1;
                    ticket = Some(next);
                }
                if ticket.is_some_and(|ticket| ticket < queue.done) {
                    return Ok(());
                }
                if !queue.writing {
                    queue.writing = true;
                    Step::Write
                } else if ticket.is_some() && !wait {
                    // The writer writes it: it steps down only once nothing waits.
                    return Ok(());
                } else {
                    // Until this entry is written; with none queued (the queue is full), until
                    // the next batch is.
                    Step::Wait(ticket.unwrap_or(queue.done))
                }
            };
            match step {
                Step::Write => self.write_all().await,
                Step::Wait(key) => self.sleep(key).await,
            }
        }
    }

    /// Waits until every entry below `key` is written, the log breaks or the writer steps down:
    /// then (or spuriously) returns, and the caller looks again.
    async fn sleep(&self, key: u64) {
        let mut asleep = false;
        std::future::poll_fn(|cx| {
            if asleep {
                return Poll::Ready(());
            }
            let mut queue = self.shared.queue();
            if queue.failure.is_some() || key < queue.done || !queue.writing {
                return Poll::Ready(());
            }
            // Under the lock the writer takes to change any of that: no wake-up is missed.
            queue.sleepers.push((key, cx.waker().clone()));
            asleep = true;
            Poll::Pending
        })
        .await;
    }

    /// As the writer: writes every entry waiting, batch by batch, until none waits; then steps
    /// down. Yields between batches, so as not to hold a worker thread for long.
    async fn write_all(&self) {
        let shared = &*self.shared;
        let mut role = Writer { shared, held: true };
        // First, every task that the same poll of the sockets made ready gets to queue its
        // record, so that they share this write (`yield_now` resumes after that poll).
        tokio::task::yield_now().await;
        loop {
            let batch = std::mem::take(&mut shared.queue().waiting);
            let written = shared.write(&batch);
            let (more, woken) = {
                let mut queue = shared.queue();
                if let Err(err) = written {
                    shared.break_with(&mut queue, err);
                }
                queue.done = batch.last().map_or(queue.done, |entry| entry.ticket + 1);
                // Checked and given up under one lock: an entry queued after this finds no
                // writer, and its task becomes the next.
                let more = !queue.waiting.is_empty();
                queue.writing = more;
                (more, queue.woken())
            };
            role.held = more;
            woken.into_iter().for_each(Waker::wake);
            if !more {
                return;
            }
            tokio::task::yield_now().await;
        }
    }
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        // A panic while the lock is held leaves the queue consistent: every change is one step.
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks the log broken for good: nothing more is written, and what waits is dropped (its
    /// tasks are told as the writer wakes them).
    fn break_with(&self, queue: &mut Queue, err: io::Error) {
        let failure = OutputError::new(err);
        queue.failure = Some(failure.clone());
        queue.waiting.clear();
        self.failure.send_replace(Some(failure));
    }

    /// Writes `batch` and flushes once.
    fn write(&self, batch: &[Entry]) -> io::Result<()> {
        let mut sink = self.sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        batch.iter().try_for_each(|entry| sink.write(&entry.event, entry.view.as_ref()))?;
        sink.flush()
    }
}

/// The writer's role, given up when its task is dropped while it yields between batches. The
/// waiting tasks are woken, and one of them takes the role up; an entry whose task does not wait
/// (an `emit`) is written by the next task that logs, or by [`Log::close`].
struct Writer<'a> {
    shared: &'a Shared,
    held: bool,
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        if self.held {
            let woken = {
                let mut queue = self.shared.queue();
                queue.writing = false;
                queue.woken()
            };
            woken.into_iter().for_each(Waker::wake);
        }
    }
}

fn stopped() -> OutputError {
    OutputError::new("the log was dropped")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64) -> ServerEvent {
        ServerEvent::Closed { conn: n, peer: "p".into(), messages: 0 }
    }

    /// What a [`Memory`] sink saw.
    #[derive(Default)]
    struct Seen {
        /// Each record's connection number, in order.
        written: Vec<u64>,
        /// How many of them were flushed.
        flushed: usize,
        flushes: usize,
    }

    /// Keeps every record; fails every write after `fail_after` records.
    #[derive(Clone)]
    struct Memory {
        seen: Arc<Mutex<Seen>>,
        fail_after: usize,
    }

    impl Memory {
        fn new(fail_after: usize) -> Self {
            Memory { seen: Arc::default(), fail_after }
        }

        fn seen(&self) -> MutexGuard<'_, Seen> {
            self.seen.lock().unwrap()
        }
    }

    impl Sink for Memory {
        fn write(&mut self, event: &ServerEvent, _: Option<&MessageView>) -> io::Result<()> {
            let mut seen = self.seen();
            if seen.written.len() == self.fail_after {
                return Err(io::Error::from_raw_os_error(28));
            }
            if let ServerEvent::Closed { conn, .. } = event {
                seen.written.push(*conn);
            }
            Ok(())
        }

        fn flush(&mut self) -> io::Result<()> {
            let mut seen = self.seen();
            seen.flushed = seen.written.len();
            seen.flushes += 1;
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_record_returns_once_it_is_written_and_flushed() {
        let sink = Memory::new(usize::MAX);
        let log = Log::new(sink.clone());
        log.emit(event(1)).await;
        log.record(event(2)).await.unwrap();
        assert_eq!(sink.seen().written, [1, 2]);
        assert_eq!(sink.seen().flushed, 2);
    }

    /// A sink whose first flush waits until the test opens the gate; `log` is given to it so
    /// that it can log while it writes, as another thread would.
    struct Gated {
        memory: Memory,
        in_flush: Arc<std::sync::atomic::AtomicBool>,
        gate: Option<std::sync::mpsc::Receiver<()>>,
    }

    impl Sink for Gated {
        fn write(&mut self, event: &ServerEvent, view: Option<&MessageView>) -> io::Result<()> {
            self.memory.write(event, view)
        }

        fn flush(&mut self) -> io::Result<()> {
            if let Some(gate) = self.gate.take() {
                self.in_flush.store(true, std::sync::atomic::Ordering::SeqCst);
                let _ = gate.recv();
            }
            self.memory.flush()
        }
    }

    /// Waits (up to a generous 30 s) until `done` holds.
    async fn until(what: &str, done: impl Fn() -> bool) {
        let waited = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while !done() {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        });
        waited.await.unwrap_or_else(|_| panic!("{what}: not within 30 s"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_queued_during_a_write_share_the_next_flush_and_none_returns_before_it() {
        let memory = Memory::new(usize::MAX);
        let in_flush = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (open, gate) = std::sync::mpsc::channel();
        let log = Log::new(Gated { memory: memory.clone(), in_flush: in_flush.clone(), gate: Some(gate) });
        let record = |n| {
            let (log, memory) = (log.clone(), memory.clone());
            tokio::spawn(async move {
                log.record(event(n)).await.unwrap();
                let seen = memory.seen();
                let at = seen.written.iter().position(|&c| c == n).expect("written");
                assert!(at < seen.flushed, "record {n} returned before its flush");
            })
        };
        // The first record's writer holds one worker thread in its flush...
        let first = record(0);
        until("the first flush", || in_flush.load(std::sync::atomic::Ordering::SeqCst)).await;
        // ...while 100 more queue on the other.
        let rest: Vec<_> = (1..=100).map(record).collect();
        until("100 records queued", || log.shared.queue().waiting.len() == 100).await;
        open.send(()).unwrap();
        first.await.unwrap();
        for task in rest {
            task.await.unwrap();
        }
        let seen = memory.seen();
        assert_eq!(seen.written.len(), 101);
        assert_eq!(seen.flushes, 2, "the 100 queued records share one flush");
    }

    #[tokio::test]
    async fn a_failed_write_breaks_the_log_for_good() {
        let sink = Memory::new(1);
        let log = Log::new(sink.clone());
        log.record(event(1)).await.unwrap();
        let err = log.record(event(2)).await.unwrap_err();
        assert_eq!(err.to_string(), "writing output: No space left on device (os error 28)");
        assert_eq!(log.failed().await.to_string(), err.to_string());
        // Later records fail at once, without reaching the sink.
        assert!(log.record(event(3)).await.is_err());
        log.emit(event(4)).await;
        assert_eq!(sink.seen().written, [1]);
    }

    /// Logs `event` from inside a sink's write, as a task on another thread would: an `emit`
    /// that finds a writer at work only queues its entry, so it completes at the first poll.
    fn emit_now(log: &Log, event: ServerEvent) {
        let emit = std::pin::pin!(log.emit(event));
        let polled = emit.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
        assert!(polled.is_ready(), "an emit while another task writes does not wait");
    }

    /// Emits event 2 (through the log it is given) while it writes event 1.
    struct Reentrant {
        memory: Memory,
        log: Arc<Mutex<Option<Log>>>,
    }

    impl Sink for Reentrant {
        fn write(&mut self, written: &ServerEvent, view: Option<&MessageView>) -> io::Result<()> {
            if matches!(written, ServerEvent::Closed { conn: 1, .. })
                && let Some(log) = self.log.lock().unwrap().take()
            {
                emit_now(&log, event(2));
            }
            self.memory.write(written, view)
        }

        fn flush(&mut self) -> io::Result<()> {
            self.memory.flush()
        }
    }

    /// A writer whose first batch is written while event 2 is emitted; it is cancelled where it
    /// yields before the next batch (a current-thread runtime runs tasks in the order they are
    /// woken, and the writer's first yield is before its first batch).
    async fn cancelled_writer() -> (Log, Memory) {
        let memory = Memory::new(usize::MAX);
        let handle = Arc::new(Mutex::new(None));
        let log = Log::new(Reentrant { memory: memory.clone(), log: handle.clone() });
        *handle.lock().unwrap() = Some(log.clone());
        let writer = tokio::spawn({
            let log = log.clone();
            async move { log.record(event(1)).await }
        });
        // Until its first batch is written: it yields before that one too.
        for _ in 0..100 {
            if !memory.seen().written.is_empty() {
                break;
            }
            tokio::task::yield_now().await;
        }
        writer.abort();
        assert!(writer.await.unwrap_err().is_cancelled());
        assert_eq!(memory.seen().written, [1], "the emit waits for a writer");
        (log, memory)
    }

    #[tokio::test]
    async fn a_writer_cancelled_between_batches_hands_over_to_the_next_task_that_logs() {
        let (log, memory) = cancelled_writer().await;
        log.record(event(3)).await.unwrap();
        assert_eq!(memory.seen().written, [1, 2, 3]);
    }

    #[tokio::test]
    async fn closing_the_log_writes_what_a_cancelled_writer_left() {
        let (log, memory) = cancelled_writer().await;
        log.close().unwrap();
        assert_eq!(memory.seen().written, [1, 2]);
    }
}
