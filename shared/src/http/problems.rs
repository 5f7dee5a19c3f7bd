//! Collecting every invalid field of a request at once, so a client can show
//! all of them in one round trip: the one field-error collector every
//! context uses, ending in a 422 whose `fields` name each problem.

use super::{ApiError, FieldErrors};

#[derive(Debug, Default)]
pub struct Problems(FieldErrors);

impl Problems {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(message.into());
    }

    /// An optional free-text field, trimmed (see `shared::domain::plain_text`);
    /// blank counts as absent, which is a problem only when `required`.
    pub fn plain_text(
        &mut self,
        field: &str,
        raw: Option<&str>,
        max: usize,
        required: bool,
    ) -> Option<String> {
        match raw.map(str::trim).filter(|v| !v.is_empty()) {
            None if required => {
                self.add(field, "is required");
                None
            }
            None => None,
            Some(value) => match crate::domain::plain_text(value, max) {
                Ok(value) => Some(value),
                Err(message) => {
                    self.add(field, message);
                    None
                }
            },
        }
    }

    /// `raw`, trimmed, if it is `min..=max` characters without control characters.
    pub fn text(&mut self, field: &str, raw: &str, min: usize, max: usize) -> String {
        let value = raw.trim().to_owned();
        let chars = value.chars().count();
        if chars < min {
            self.add(field, "is required");
        } else if chars > max {
            self.add(field, format!("must be at most {max} characters"));
        } else if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            self.add(field, "must not contain control characters");
        }
        value
    }

    /// Records the error of a domain value's `parse`, keeping the value if valid.
    pub fn parsed<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        result.map_err(|e| self.add(field, e.to_string())).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many fields have a problem (to tell whether a step added one).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn fields(&self) -> &FieldErrors {
        &self.0
    }

    /// `Ok(value)` if nothing was recorded, else a 422 listing every field.
    pub fn finish<T>(self, message: &str, value: impl FnOnce() -> T) -> Result<T, ApiError> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(ApiError::validation(message, self.0))
        }
    }
}

impl From<Problems> for FieldErrors {
    fn from(problems: Problems) -> Self {
        problems.0
    }
}
