//! The catalogue of workspace events: what outbound webhooks deliver and `event_trigger` nodes
//! start runs on. Names are stable, dotted and lower case (Standard Webhooks' `[a-zA-Z0-9_.]`).

/// A workspace event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    RunSucceeded,
    RunFailed,
    RunCancelled,
    RunTimedOut,
    WorkflowCreated,
    WorkflowUpdated,
    WorkflowPublished,
    WorkflowUnpublished,
    WorkflowDeleted,
    EndpointDisabled,
    EndpointTest,
}

impl EventType {
    pub const ALL: [EventType; 11] = [
        EventType::RunSucceeded,
        EventType::RunFailed,
        EventType::RunCancelled,
        EventType::RunTimedOut,
        EventType::WorkflowCreated,
        EventType::WorkflowUpdated,
        EventType::WorkflowPublished,
        EventType::WorkflowUnpublished,
        EventType::WorkflowDeleted,
        EventType::EndpointDisabled,
        EventType::EndpointTest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::RunSucceeded => "run.succeeded",
            EventType::RunFailed => "run.failed",
            EventType::RunCancelled => "run.cancelled",
            EventType::RunTimedOut => "run.timed_out",
            EventType::WorkflowCreated => "workflow.created",
            EventType::WorkflowUpdated => "workflow.updated",
            EventType::WorkflowPublished => "workflow.published",
            EventType::WorkflowUnpublished => "workflow.unpublished",
            EventType::WorkflowDeleted => "workflow.deleted",
            EventType::EndpointDisabled => "endpoint.disabled",
            EventType::EndpointTest => "endpoint.test",
        }
    }

    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|event| event.as_str() == name)
    }

    /// One line for the documentation and the OpenAPI description.
    pub fn description(self) -> &'static str {
        match self {
            EventType::RunSucceeded => "a run ended successfully",
            EventType::RunFailed => "a run ended with an error",
            EventType::RunCancelled => "a run was cancelled",
            EventType::RunTimedOut => "a run passed its workflow's time limit",
            EventType::WorkflowCreated => "a workflow was created",
            EventType::WorkflowUpdated => "a workflow's name, description, tags or definition changed",
            EventType::WorkflowPublished => "a workflow version was published (or rolled back to)",
            EventType::WorkflowUnpublished => "a workflow's published version was withdrawn: its triggers stopped",
            EventType::WorkflowDeleted => "a workflow was deleted",
            EventType::EndpointDisabled => "a webhook endpoint was disabled after failing for 5 days or answering 410",
            EventType::EndpointTest => "a test event sent to one endpoint on request",
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_dotted_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for event in EventType::ALL {
            assert!(seen.insert(event.as_str()), "{event} twice");
            assert_eq!(EventType::parse(event.as_str()), Some(event));
            assert!(event.as_str().chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'));
            assert_eq!(event.as_str().matches('.').count(), 1);
        }
        assert_eq!(EventType::parse("run.exploded"), None);
    }
}
