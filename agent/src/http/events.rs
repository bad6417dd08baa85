//! Server-sent event streams: a company admin follows everything in the
//! company, an employee what concerns itself. `Last-Event-ID` (or
//! `?after=`) replays what was missed from the recorded log first.

use super::error::{ApiError, Problem};
use super::extract::{Caller, Path, Query};
use super::AppState;
use crate::events::Event;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::stream::{self, Stream, StreamExt as _};
use serde::Deserialize;
use std::convert::Infallible;
use tokio_stream::wrappers::BroadcastStream;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(company_events)).routes(routes!(employee_events))
}

/// Where to resume.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Resume {
    /// Replay events after this sequence number (like `Last-Event-ID`).
    pub after: Option<i64>,
}

const REPLAY_LIMIT: i64 = 10_000;

fn to_sse(e: &Event) -> SseEvent {
    SseEvent::default().id(e.seq.to_string()).event(e.kind.clone()).json_data(e).unwrap_or_default()
}

async fn stream_for(
    state: &AppState,
    tenant: &str,
    after: i64,
    only_subject: Option<String>,
) -> Result<impl Stream<Item = Result<SseEvent, Infallible>>, ApiError> {
    // Subscribe before reading the log, so nothing falls between the two.
    let live = BroadcastStream::new(state.events.subscribe(tenant));
    let recorded = state.events.since(tenant, after, REPLAY_LIMIT).await?;
    let last = recorded.last().map(|e| e.seq).unwrap_or(after);
    let keep = move |e: &Event| only_subject.as_deref().is_none_or(|s| e.subject == s);
    let keep_recorded = keep.clone();
    let replay = stream::iter(recorded.into_iter().filter(move |e| keep_recorded(e)));
    let live = live.filter_map(move |e| {
        let keep = keep.clone();
        async move { e.ok().filter(|e| e.seq > last && keep(e)) }
    });
    Ok(replay.chain(live).map(|e| Ok(to_sse(&e))))
}

fn resume_point(headers: &HeaderMap, q: &Resume) -> i64 {
    headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).or(q.after).unwrap_or(0)
}

/// Every event of a company, as server-sent events.
#[utoipa::path(get, path = "/v1/companies/{company}/events", tag = "company admin",
    params(("company" = String, Path), Resume),
    responses((status = 200, content_type = "text/event-stream", description = "events"), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn company_events(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
    Query(q): Query<Resume>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    caller.admin_of(&company)?;
    let stream = stream_for(&state, &company, resume_point(&headers, &q), None).await?;
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The events about one employee, as server-sent events.
#[utoipa::path(get, path = "/v1/companies/{company}/employees/{employee}/events", tag = "employee",
    params(("company" = String, Path), ("employee" = String, Path), Resume),
    responses((status = 200, content_type = "text/event-stream", description = "events"), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn employee_events(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path((company, employee)): Path<(String, String)>,
    Query(q): Query<Resume>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    caller.employee(&company, &employee)?;
    let stream = stream_for(&state, &company, resume_point(&headers, &q), Some(employee)).await?;
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
