//! The body read timeout (issue 23): a request whose body has not fully arrived
//! `SWITCHBOARD_BODY_TIMEOUT` after its headers is answered `408 Request Timeout` and its
//! connection closed, so a sender trickling a byte a second cannot hold a connection and a
//! handler for long (slow headers are cut by actix's own request timeout).

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use actix_web::{
    HttpMessage as _, HttpResponse,
    body::{EitherBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    error::PayloadError,
    http::ConnectionType,
    middleware::Next,
    web,
};
use bytes::Bytes;
use futures_util::Stream;

use crate::state::AppState;

/// The middleware.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let timeout = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.config.serving.body_timeout);
    let expired = Arc::new(AtomicBool::new(false));
    if let Some(timeout) = timeout {
        match req.take_payload() {
            Payload::None => {}
            payload => req.set_payload(Payload::Stream {
                payload: Box::pin(Deadline {
                    inner: payload,
                    sleep: Box::pin(tokio::time::sleep(timeout)),
                    expired: expired.clone(),
                }),
            }),
        }
    }
    let res = next.call(req).await?;
    if !expired.load(Ordering::Relaxed) {
        return Ok(res.map_into_left_body());
    }
    let seconds = timeout.map_or(0, |t| t.as_secs());
    tracing::warn!(
        path = %res.request().path(),
        seconds,
        "request body too slow (SWITCHBOARD_BODY_TIMEOUT)"
    );
    let mut answer = HttpResponse::RequestTimeout()
        .content_type("text/plain; charset=utf-8")
        .body(format!(
            "The request body did not arrive within {seconds} seconds."
        ));
    answer.head_mut().set_connection_type(ConnectionType::Close);
    Ok(res.into_response(answer).map_into_right_body())
}

/// A request body that fails with `TimedOut` once its deadline passes.
struct Deadline {
    inner: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.expired.load(Ordering::Relaxed) {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Pending => {}
            ready => return ready,
        }
        match this.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.expired.store(true, Ordering::Relaxed);
                Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "request body timed out",
                )))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
