//! Weft's integration tests: one binary, every store and API test on SQLite and, when
//! `WEFT_TEST_DATABASE_URL` is set, on PostgreSQL too.

mod api_keys;
mod audit;
mod auth;
mod bench;
mod cli;
mod crash_recovery;
mod deliveries_store;
mod event_triggers;
mod hooks;
mod http;
mod me;
mod members;
mod openapi;
mod rate_limit;
mod retention;
mod runs;
mod runs_store;
mod scale_out;
mod schedules;
mod store;
mod tenancy_matrix;
mod ui_audit;
mod ui_browser;
mod ui_browser_runs;
mod ui_browser_workflows;
mod ui_dashboard;
mod ui_pages;
mod ui_runs;
mod ui_webhooks;
mod ui_workflows;
mod webhook_endpoints;
mod workflows;
mod workspaces;
