//! Detect: stateful detectors, one module per finding family, each reading like its SPEC section.
//! Detectors read the tracker's state and observations; they never write shared state.
mod exfil;

use crate::address::AddressBook;
use crate::config::Settings;
use crate::event::Event;
use crate::finding::Finding;
use crate::track::{Observation, Tracker};

/// All detectors.
pub struct Detectors {
    exfil: exfil::Exfiltration,
}

impl Detectors {
    /// Detectors configured by `settings`.
    pub fn new(settings: &Settings) -> Self {
        Detectors {
            exfil: exfil::Exfiltration::new(settings.write_only),
        }
    }

    /// One event, in event-time order, with the tracker's judgement of it.
    pub fn on_event(
        &mut self,
        ev: &Event,
        obs: Option<&Observation>,
        tracker: &Tracker,
        book: &AddressBook,
    ) {
        if let Some(obs) = obs {
            self.exfil.on_observation(ev, obs, tracker, book);
        }
    }

    /// The findings (unsorted).
    pub fn finish(self) -> Vec<Finding> {
        self.exfil.finish()
    }
}
