//! What a form shows when its submission is refused: a message per field (the API's JSON
//! pointers, `/email` for the `email` field) and one for the whole form.

use crate::error::ApiError;
use crate::ui::error::UiError;

#[derive(Debug, Default)]
pub struct FormErrors {
    fields: Vec<(String, String)>,
    pub general: Option<String>,
}

impl FormErrors {
    /// The errors a person can correct in the form; any other error fails the page.
    pub fn from_api(error: ApiError) -> Result<FormErrors, UiError> {
        match error {
            ApiError::Validation(fields) => Ok(FormErrors {
                fields: fields.into_iter().map(|field| (field.pointer, field.detail)).collect(),
                general: None,
            }),
            ApiError::MalformedJson(_)
            | ApiError::MalformedYaml(_)
            | ApiError::BlockedUrl(_)
            | ApiError::Unauthorized(_)
            | ApiError::Forbidden(_)
            | ApiError::MissingPermission { .. }
            | ApiError::Conflict(_)
            | ApiError::RateLimited { .. } => Ok(FormErrors::general(error.to_string())),
            other => Err(UiError::Api(other)),
        }
    }

    pub fn general(message: impl Into<String>) -> FormErrors {
        FormErrors { fields: Vec::new(), general: Some(message.into()) }
    }

    /// The message for the field at `pointer`, if it was refused.
    pub fn field(&self, pointer: &str) -> Option<&str> {
        self.fields.iter().find(|(at, _)| at == pointer).map(|(_, detail)| detail.as_str())
    }

    /// Every refused field, for forms that show problems as a list (the workflow editor).
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_land_on_their_fields_and_server_errors_fail_the_page() {
        let errors = FormErrors::from_api(ApiError::field("/email", "is not an email address")).unwrap();
        assert_eq!(errors.field("/email"), Some("is not an email address"));
        assert_eq!(errors.field("/name"), None);
        let conflict = FormErrors::from_api(ApiError::Conflict("taken")).unwrap();
        assert_eq!(conflict.general.as_deref(), Some("taken"));
        assert!(FormErrors::from_api(ApiError::Internal("boom".into())).is_err());
    }
}
