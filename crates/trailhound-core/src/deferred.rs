//! A value built on a thread of its own while a run starts, waited for at its first use.
//!
//! The bundled cloud ranges take about 20 ms to build. Built this way, on two cores they overlap
//! the directory walk and the first files' decoding instead of delaying every run by that much
//! (issue 18); on one core nothing changes.
use std::sync::{Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;

/// A value that may still be being built on another thread.
pub struct Deferred<T> {
    value: OnceLock<T>,
    pending: Mutex<Option<JoinHandle<T>>>,
}

impl<T: Send + 'static> Deferred<T> {
    /// `build()` on a new thread (or right here when no thread can be started).
    pub fn spawn(build: fn() -> T) -> Self {
        match std::thread::Builder::new()
            .name("trailhound-build".into())
            .spawn(build)
        {
            Ok(handle) => Deferred {
                value: OnceLock::new(),
                pending: Mutex::new(Some(handle)),
            },
            Err(_) => Deferred::from(build()),
        }
    }
}

impl<T> Deferred<T> {
    /// The value, waiting for its build the first time. A panic in the build is raised here.
    pub fn get(&self) -> &T {
        self.value.get_or_init(|| {
            let pending = self
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .expect("a deferred value is built once (a build that panicked is not used again)");
            match pending.join() {
                Ok(value) => value,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}

impl<T> From<T> for Deferred<T> {
    fn from(value: T) -> Self {
        Deferred {
            value: OnceLock::from(value),
            pending: Mutex::new(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Deferred;

    #[test]
    fn a_deferred_value_is_the_built_value() {
        let d = Deferred::spawn(|| (1..=100u64).sum::<u64>());
        assert_eq!(*d.get(), 5050);
        assert_eq!(*d.get(), 5050);
        assert_eq!(*Deferred::from(7).get(), 7);
    }

    #[test]
    fn a_panic_in_the_build_reaches_the_user() {
        let d: Deferred<u8> = Deferred::spawn(|| panic!("no data"));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| *d.get()));
        assert!(caught.is_err());
    }
}
