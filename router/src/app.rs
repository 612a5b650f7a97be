//! Builds the router: binds both listeners (port 0 works, for tests), starts the publisher,
//! connects to the store in the background, and runs until the shutdown token is cancelled,
//! then drains in-flight requests and background replays.

use std::{
    net::TcpListener,
    sync::{Arc, OnceLock},
    time::Duration,
};

use actix_web::{dev::Server, web, App, HttpResponse, HttpServer};
use ledgerhook_shared::{
    broker::{Publisher, PublisherOptions},
    config::Config,
    store::Store,
};
use serde_json::json;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{admin, console, ingress, metrics::Metrics};

/// State shared by every request handler.
#[derive(Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub publisher: Publisher,
    pub metrics: Metrics,
    /// Set once the store is reachable. Webhooks never need it; until then the support API
    /// answers 503 and /readyz says the store is unavailable.
    pub store: OnceLock<Store>,
    /// Bulk replays being published, the store connection and the replay sweeper.
    pub background: TaskTracker,
    /// Cancelled when the router stops: background work finishes what is in flight and ends.
    pub stopping: CancellationToken,
}

/// Connections the router keeps to the store; support requests are few.
const STORE_CONNECTIONS: usize = 8;

pub struct Application {
    port: u16,
    admin_port: u16,
    public: Server,
    admin: Server,
    state: web::Data<AppState>,
    shutdown: CancellationToken,
    publisher_stop: CancellationToken,
}

/// How long in-flight requests get to finish after SIGTERM before the listener closes them.
const DRAIN_SECS: u64 = 30;

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .field("admin_port", &self.admin_port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Binds `router.listen` and `router.admin_listen` and starts connecting to the broker.
    /// Does not wait for the broker: until it is reachable, webhooks get 503 and /readyz fails.
    pub async fn build(
        config: Config,
        shutdown: CancellationToken,
    ) -> std::io::Result<Application> {
        let public_listener = TcpListener::bind(config.router.listen)?;
        let admin_listener = TcpListener::bind(config.router.admin_listen)?;
        let port = public_listener.local_addr()?.port();
        let admin_port = admin_listener.local_addr()?.port();

        // The publisher outlives the listeners: draining requests still need it.
        let publisher_stop = CancellationToken::new();
        let publisher = Publisher::start(
            PublisherOptions {
                url: config.broker.url.clone(),
                topology: config.broker.topology(),
                confirm_window: config.router.confirm_window,
                publish_timeout: config.router.publish_timeout,
                channels: 2,
                connection_name: "ledgerhook-router".to_owned(),
            },
            publisher_stop.clone(),
        );
        let state = web::Data::new(AppState {
            config: Arc::new(config),
            publisher,
            metrics: Metrics::new(),
            store: OnceLock::new(),
            background: TaskTracker::new(),
            stopping: shutdown.child_token(),
        });
        state.background.spawn(connect_store(state.clone()));

        let public_state = state.clone();
        let public = HttpServer::new(move || {
            App::new()
                .app_data(public_state.clone())
                .route(
                    "/webhooks/{tenant}/{source}",
                    web::post().to(ingress::receive),
                )
                .default_service(web::to(not_found))
        })
        .disable_signals()
        .shutdown_timeout(DRAIN_SECS)
        .listen(public_listener)?
        .run();

        let admin_state = state.clone();
        let admin = HttpServer::new(move || {
            App::new()
                .app_data(admin_state.clone())
                .configure(admin::routes)
                .configure(console::routes)
                .default_service(web::to(not_found))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(5)
        .listen(admin_listener)?
        .run();

        Ok(Application {
            port,
            admin_port,
            public,
            admin,
            state,
            shutdown,
            publisher_stop,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn admin_port(&self) -> u16 {
        self.admin_port
    }

    /// Waits up to `timeout` for the broker connection; for tests and start-up logs.
    pub async fn wait_for_broker(&self, timeout: Duration) -> bool {
        self.state.publisher.wait_connected(timeout).await
    }

    /// Waits up to `timeout` for the store connection; for tests and start-up logs.
    pub async fn wait_for_store(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.state.store.get().is_none() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// Serves until the shutdown token is cancelled, then stops accepting, lets in-flight
    /// requests finish (each still publishes and awaits its confirms), and closes the broker.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let public_handle = self.public.handle();
        let admin_handle = self.admin.handle();
        let shutdown = self.shutdown.clone();
        let stopper = tokio::spawn(async move {
            shutdown.cancelled().await;
            tracing::info!("draining in-flight requests");
            public_handle.stop(true).await;
            admin_handle.stop(true).await;
        });
        let (public, admin) = tokio::join!(self.public, self.admin);
        stopper.abort();
        // Replays in flight still need the publisher: let them finish before closing it.
        self.state.stopping.cancel();
        self.state.background.close();
        self.state.background.wait().await;
        self.publisher_stop.cancel();
        public?;
        admin?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Connects to the store, retrying with backoff until it answers or the router stops, then
/// starts the replay sweeper.
async fn connect_store(state: web::Data<AppState>) {
    let mut backoff = Duration::from_millis(200);
    let store = loop {
        let attempt = tokio::select! {
            _ = state.stopping.cancelled() => return,
            attempt = Store::connect(&state.config.store.url, STORE_CONNECTIONS) => attempt,
        };
        match attempt {
            Ok(store) => break store,
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "store unavailable")
            }
        }
        tokio::select! {
            _ = state.stopping.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    };
    tracing::info!("connected to the store");
    let _ = state.store.set(store);
    state.background.spawn(admin::sweeper::run(state.clone()));
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({ "error": "not_found", "message": "no such endpoint" }))
}
