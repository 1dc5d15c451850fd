//! The server's log: every event goes through one [`Log`] to one writer, in order.
//!
//! A message must be in the log before it is acknowledged (PROTOCOL.md §5), so
//! [`Log::record`] waits until the writer has written *and flushed* its record. The writer
//! ([`Entries::write_to`], on its own thread) takes every entry that is waiting, writes them all
//! and flushes once, and only then tells their senders: records are batched, acknowledgements are
//! never ahead of them.
//!
//! Once a write fails, the log is broken for good: [`Log::failed`] completes, every later
//! [`Log::record`] fails at once, and the writer drops whatever else arrives.

use interop_wire::MessageView;
use interop_wire::json::ServerEvent;
use std::io;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

/// How many events may wait for the writer; a stalled stdout slows the server down instead of
/// queueing without limit.
const CAPACITY: usize = 1024;

/// Most entries written between two flushes.
const BATCH: usize = 256;

/// The log could not be written, so nothing more can be acknowledged.
#[derive(Clone, Debug, thiserror::Error)]
#[error("writing output: {0}")]
pub struct OutputError(Arc<str>);

impl OutputError {
    fn new(reason: impl std::fmt::Display) -> Self {
        OutputError(reason.to_string().into())
    }
}

/// The sending side, shared by every task of the server.
#[derive(Clone, Debug)]
pub struct Log {
    entries: mpsc::Sender<Entry>,
    failure: watch::Receiver<Option<OutputError>>,
}

/// One event, and whoever waits for it to be written.
#[derive(Debug)]
pub struct Entry {
    /// What to write.
    pub event: ServerEvent,
    /// For a `message` event without `text` (binary, or too long to print), the view its
    /// text-format summary line is printed from: the summary previews the first bytes, which the
    /// event does not keep.
    pub view: Option<MessageView>,
    written: Option<oneshot::Sender<()>>,
}

impl Entry {
    /// Tells the sender its record is written and flushed, and returns the event. (Dropping an
    /// entry instead tells it that it is not.)
    pub fn written(self) -> ServerEvent {
        if let Some(written) = self.written {
            let _ = written.send(());
        }
        self.event
    }
}

/// Where the writer puts events: the printer, or a test's own.
pub trait Sink {
    /// Writes one event's record (buffered, perhaps); `view` as in [`Entry::view`].
    fn write(&mut self, event: &ServerEvent, view: Option<&MessageView>) -> io::Result<()>;
    /// Pushes everything written so far out.
    fn flush(&mut self) -> io::Result<()>;
}

/// The receiving side: the writer's.
#[derive(Debug)]
pub struct Entries {
    entries: mpsc::Receiver<Entry>,
    failure: watch::Sender<Option<OutputError>>,
}

/// A new log and the entries its writer takes.
pub fn channel() -> (Log, Entries) {
    let (tx, entries) = mpsc::channel(CAPACITY);
    let (failure, failure_rx) = watch::channel(None);
    (Log { entries: tx, failure: failure_rx }, Entries { entries, failure })
}

impl Log {
    /// Queues `event` for writing, without waiting for it to be written.
    pub async fn emit(&self, event: ServerEvent) {
        // Nobody waits for this record; once the log is broken it is dropped like any other.
        let _ = self.entries.send(Entry { event, view: None, written: None }).await;
    }

    /// Writes `event` and waits until it is written and flushed: after `Ok`, it is in the log.
    /// (A message goes through [`record_message`](Self::record_message).)
    pub async fn record(&self, event: ServerEvent) -> Result<(), OutputError> {
        self.send_and_wait(event, None).await
    }

    /// Writes the `message` event of message `seq` of connection `conn` from `peer`, as
    /// [`record`](Self::record) does, keeping `view` if its text-format line needs it
    /// ([`Entry::view`]).
    pub async fn record_message(
        &self,
        conn: u64,
        peer: String,
        seq: u64,
        view: MessageView,
    ) -> Result<(), OutputError> {
        let (event, summary) = ServerEvent::message(conn, peer, seq, view);
        self.send_and_wait(event, summary).await
    }

    async fn send_and_wait(&self, event: ServerEvent, view: Option<MessageView>) -> Result<(), OutputError> {
        if let Some(failure) = self.failure() {
            return Err(failure);
        }
        let (written, done) = oneshot::channel();
        if self.entries.send(Entry { event, view, written: Some(written) }).await.is_err() {
            return Err(self.failure().unwrap_or_else(stopped));
        }
        // The writer records its failure before it drops the entries it could not write.
        done.await.map_err(|_| self.failure().unwrap_or_else(stopped))
    }

    /// Why the log is broken, if it is.
    pub fn failure(&self) -> Option<OutputError> {
        self.failure.borrow().clone()
    }

    /// Completes when the log breaks.
    pub async fn failed(&self) -> OutputError {
        let mut failure = self.failure.clone();
        match failure.wait_for(Option::is_some).await {
            Ok(failure) => failure.clone().unwrap_or_else(stopped),
            // The writer is gone without saying why: nothing more gets written either way.
            Err(_) => stopped(),
        }
    }
}

fn stopped() -> OutputError {
    OutputError::new("the output writer stopped")
}

impl Entries {
    /// The next entry, for a writer of its own (tests). `None` once every [`Log`] is dropped.
    pub async fn recv(&mut self) -> Option<Entry> {
        self.entries.recv().await
    }

    /// Marks the log broken, as a failed write does.
    pub fn fail(&self, reason: impl std::fmt::Display) {
        self.failure.send_replace(Some(OutputError::new(reason)));
    }

    /// Writes every entry to `sink`, flushing once per batch, until every [`Log`] is dropped.
    /// Blocks: run it on a thread of its own. On the first failure the log is marked broken and
    /// the rest is dropped unwritten; the failure is returned at the end.
    pub fn write_to(mut self, sink: &mut impl Sink) -> Result<(), OutputError> {
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(first) = self.entries.blocking_recv() {
            batch.push(first);
            while batch.len() < BATCH {
                match self.entries.try_recv() {
                    Ok(entry) => batch.push(entry),
                    Err(_) => break,
                }
            }
            let written = batch
                .iter()
                .try_for_each(|entry| sink.write(&entry.event, entry.view.as_ref()))
                .and_then(|()| sink.flush());
            if let Err(err) = written {
                let failure = OutputError::new(err);
                self.failure.send_replace(Some(failure.clone()));
                drop(batch);
                // Keep taking entries, so that no sender waits on a full channel.
                while self.entries.blocking_recv().is_some() {}
                return Err(failure);
            }
            for entry in batch.drain(..) {
                entry.written();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64) -> ServerEvent {
        ServerEvent::Closed { conn: n, peer: "p".into(), messages: 0 }
    }

    /// Writes succeed until `fail_after` records, then fail.
    struct Counted {
        conns: Vec<u64>,
        fail_after: usize,
    }

    impl Sink for Counted {
        fn write(&mut self, event: &ServerEvent, _: Option<&MessageView>) -> io::Result<()> {
            if self.conns.len() == self.fail_after {
                return Err(io::Error::from_raw_os_error(28));
            }
            if let ServerEvent::Closed { conn, .. } = event {
                self.conns.push(*conn);
            }
            Ok(())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn sink(fail_after: usize) -> Counted {
        Counted { conns: Vec::new(), fail_after }
    }

    #[tokio::test]
    async fn record_returns_once_written_in_order() {
        let (log, entries) = channel();
        let thread = std::thread::spawn(move || {
            let mut sink = sink(usize::MAX);
            entries.write_to(&mut sink).map(|()| sink.conns)
        });
        log.emit(event(1)).await;
        log.record(event(2)).await.unwrap();
        drop(log);
        assert_eq!(thread.join().unwrap().unwrap(), [1, 2]);
    }

    #[tokio::test]
    async fn a_failed_write_breaks_the_log_for_good() {
        let (log, entries) = channel();
        let thread = std::thread::spawn(move || entries.write_to(&mut sink(1)));
        log.record(event(1)).await.unwrap();
        let err = log.record(event(2)).await.unwrap_err();
        assert_eq!(err.to_string(), "writing output: No space left on device (os error 28)");
        assert_eq!(log.failed().await.to_string(), err.to_string());
        // Later records fail at once, without reaching the writer.
        assert!(log.record(event(3)).await.is_err());
        drop(log);
        assert!(thread.join().unwrap().is_err());
    }
}
