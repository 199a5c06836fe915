//! [`ValidScenario`]: a scenario that passed validation. The engine and the programme builder
//! take only this type, so input that was never validated cannot reach them.

use std::ops::Deref;

use crate::{validate, Diagnostic, Scenario};

/// A [`Scenario`] without validation errors (warnings allowed). Only [`ValidScenario::new`]
/// makes one, and it runs [`validate`]; read it through `Deref` as a `Scenario`.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidScenario(Scenario);

impl ValidScenario {
    /// Validates `sc`: the scenario back as valid, or every error found.
    pub fn new(sc: Scenario) -> Result<ValidScenario, Vec<Diagnostic>> {
        let errors: Vec<Diagnostic> = validate(&sc)
            .into_iter()
            .filter(|d| d.severity == crate::Severity::Error)
            .collect();
        if errors.is_empty() {
            Ok(ValidScenario(sc))
        } else {
            Err(errors)
        }
    }

    /// The scenario, to change and validate again.
    pub fn into_inner(self) -> Scenario {
        self.0
    }
}

impl Deref for ValidScenario {
    type Target = Scenario;

    fn deref(&self) -> &Scenario {
        &self.0
    }
}

/// The errors of a failed validation as one message (for callers that report it as text).
pub fn errors_to_string(errors: &[Diagnostic]) -> String {
    errors
        .iter()
        .map(|d| format!("{}: {}", d.path, d.message))
        .collect::<Vec<_>>()
        .join("; ")
}
