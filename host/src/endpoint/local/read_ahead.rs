//! Reading folders ahead of the walk, on other threads. The walk stays depth-first and in
//! listing order on its own thread; as it enters a folder, the subfolders it will enter
//! next (nearest first, at most [`AHEAD`]) are read and their children stat'ed by a few
//! threads, so that a tree on a slow disk or a network file system is not read one
//! `stat` at a time. A folder the consumer skips is forgotten (its answer dropped); a
//! folder read ahead is only read — temporary download folders in it are removed when
//! the walk enters it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, mpsc};

use super::folder::{Folder, Reading};
use crate::endpoint::EndpointError;

/// Threads reading folders ahead (the work is mostly waiting on the file system).
const THREADS: usize = 4;

/// Folders read, or being read, ahead of the walk at most.
pub(super) const AHEAD: usize = 64;

type Answer = Result<Folder, EndpointError>;

/// A folder to read, and where its answer goes.
struct Job {
    key: String,
    answer: mpsc::SyncSender<Answer>,
}

/// The folders asked for, and the threads reading them.
pub(super) struct ReadAhead {
    reading: Arc<Reading>,
    /// Where jobs go; `None` until the first is asked for (and if no thread could start).
    jobs: Option<mpsc::Sender<Job>>,
    started: bool,
    pending: HashMap<String, mpsc::Receiver<Answer>>,
}

impl ReadAhead {
    pub(super) fn new(reading: Reading) -> ReadAhead {
        ReadAhead {
            reading: Arc::new(reading),
            jobs: None,
            started: false,
            pending: HashMap::new(),
        }
    }

    /// How the tree's folders are read.
    pub(super) fn reading(&self) -> &Reading {
        &self.reading
    }

    /// Folders asked for and not yet taken or forgotten.
    #[cfg(test)]
    pub(super) fn waiting(&self) -> usize {
        self.pending.len()
    }

    /// Whether another folder may be asked for.
    pub(super) fn has_room(&self) -> bool {
        self.pending.len() < AHEAD
    }

    /// Asks for folder `key` (a relative path ending with `/`) to be read ahead.
    pub(super) fn ask(&mut self, key: String) {
        if self.reading.options.serial_walk {
            return;
        }
        let Some(jobs) = self.jobs() else {
            return;
        };
        let (answer, receiver) = mpsc::sync_channel(1);
        if jobs
            .send(Job {
                key: key.clone(),
                answer,
            })
            .is_ok()
        {
            self.pending.insert(key, receiver);
        }
    }

    /// Folder `key`: as read ahead (waiting for it if need be), else read now.
    pub(super) fn take(&mut self, key: &str) -> Answer {
        if let Some(answer) = self.pending.remove(key).and_then(|r| r.recv().ok()) {
            return answer;
        }
        self.reading.read_dir(key)
    }

    /// Forgets the folders asked for at or below `dir` (the walk will not enter them).
    pub(super) fn forget(&mut self, dir: &str) {
        // Keys end with `/`: the folder's own key starts with it too.
        let below = format!("{}/", dir.trim_end_matches('/'));
        self.pending.retain(|key, _| !key.starts_with(&below));
    }

    /// The job queue, starting the threads on first use.
    fn jobs(&mut self) -> Option<&mpsc::Sender<Job>> {
        if !self.started {
            self.started = true;
            self.jobs = self.start_threads();
        }
        self.jobs.as_ref()
    }

    /// Starts the reading threads; `None` when none could start (the walk then reads
    /// every folder itself).
    fn start_threads(&self) -> Option<mpsc::Sender<Job>> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut running = 0;
        for i in 0..THREADS {
            let (reading, receiver) = (self.reading.clone(), receiver.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("blobsync-walk-{i}"))
                .spawn(move || serve(&reading, &receiver));
            match spawned {
                Ok(_) => running += 1,
                Err(e) => tracing::debug!("cannot start a thread to read folders ahead: {e}"),
            }
        }
        (running > 0).then_some(sender)
    }
}

/// One reading thread: reads the folders asked for until the walk is dropped.
fn serve(reading: &Reading, jobs: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let job = jobs.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok(job) = job else {
            return;
        };
        // The walk may have forgotten it: then the answer has nowhere to go.
        let _ = job.answer.send(reading.read_dir(&job.key));
    }
}
