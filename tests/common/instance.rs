//! Shared by the single-instance tests: a listener on a temporary folder, with its requests'
//! end and a count of the wake-ups it made.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use palabre::instance::{Handoff, Server};

/// Binds the endpoint in `dir`; returns it, its requests' end and the wake-up count.
pub fn bind(dir: &Path) -> (Server, Handoff, Arc<AtomicUsize>) {
    let mut server = Server::bind(dir).expect("bind");
    let handoff = server.take_handoff().expect("handoff");
    let wakes = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&wakes);
    handoff.set_wake(Box::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    }));
    (server, handoff, wakes)
}
