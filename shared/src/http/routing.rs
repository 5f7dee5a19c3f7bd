//! One route list per context, built two ways.
//!
//! Each handler carries its method and path in its `#[utoipa::path]`
//! attribute, and a context lists its handlers once:
//!
//! ```ignore
//! fn api<R: RouteSink<State>>(sink: R) -> R {
//!     sink
//!         // GET, PUT /v1/things/{id}
//!         .routes(routes!(things::get_thing, things::put_thing))
//! }
//! ```
//!
//! A Lambda function builds that list into a plain [`axum::Router`]: only
//! each handler's path and methods are read, so the OpenAPI operations and
//! schemas are never assembled at start and are not linked into the binary.
//! The devserver and the tests build the same list into an
//! [`OpenApiRouter`] to get the document, exactly as `utoipa_axum` would.

use axum::Router;
use axum::handler::Handler;
use axum::routing::MethodRouter;
use utoipa::__dev::{SchemaReferences, Tags};
use utoipa::openapi::path::Paths;
use utoipa_axum::PathItemExt;
use utoipa_axum::router::OpenApiRouter;

#[doc(hidden)]
pub use paste::paste;

/// What `#[utoipa::path]` generates for a handler (`__path_<handler>`): its
/// path and methods, and for the document its operation, tags and schemas.
pub trait DocumentedPath: utoipa::Path + SchemaReferences + for<'t> Tags<'t> {}

impl<P> DocumentedPath for P where P: utoipa::Path + SchemaReferences + for<'t> Tags<'t> {}

/// Where a context's route list goes: a plain router for a Lambda function,
/// or an [`OpenApiRouter`] for the document.
pub trait RouteSink<S>: Sized
where
    S: Clone + Send + Sync + 'static,
{
    /// Adds the method router of the handler `P` describes, at its path.
    fn add<P: DocumentedPath>(self, methods: MethodRouter<S>) -> Self;

    /// Adds `handler` at the path and methods its attribute names.
    fn handler<P, H, T>(self, handler: H) -> Self
    where
        P: DocumentedPath,
        H: Handler<T, S>,
        T: 'static,
    {
        let methods = P::methods()
            .iter()
            .fold(MethodRouter::new(), |router, method| {
                router.on(method.to_method_filter(), handler.clone())
            });
        self.add::<P>(methods)
    }

    /// Adds the handlers a [`routes!`](crate::routes) call lists.
    fn routes(self, add: impl FnOnce(Self) -> Self) -> Self {
        add(self)
    }
}

impl<S> RouteSink<S> for Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    fn add<P: DocumentedPath>(self, methods: MethodRouter<S>) -> Self {
        // A second handler on a path already routed joins its methods.
        self.route(&P::path(), methods)
    }
}

impl<S> RouteSink<S> for OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    fn add<P: DocumentedPath>(self, methods: MethodRouter<S>) -> Self {
        let mut schemas = Vec::new();
        P::schemas(&mut schemas);
        let mut operation = P::operation();
        let tags = P::tags();
        if !tags.is_empty() {
            operation
                .tags
                .get_or_insert_with(Vec::new)
                .extend(tags.iter().map(ToString::to_string));
        }
        let mut paths = Paths::new();
        paths.add_path_operation(P::path(), P::methods(), operation);
        OpenApiRouter::routes(self, (schemas, paths, methods))
    }
}

/// Lists handlers annotated with `#[utoipa::path]` for
/// [`RouteSink::routes`]: `.routes(routes!(module::get_thing, module::put_thing))`.
#[macro_export]
macro_rules! routes {
    ( $( $($segment:ident)::+ ),+ $(,)? ) => {
        |sink| {
            $( let sink = $crate::routes!(@add sink [] $($segment)::+); )+
            sink
        }
    };
    (@add $sink:ident [$($module:ident)*] $handler:ident) => {
        $crate::http::routing::paste! {
            $crate::http::routing::RouteSink::handler::<
                $($module::)* [<__path_ $handler>], _, _
            >($sink, $($module::)* $handler)
        }
    };
    (@add $sink:ident [$($module:ident)*] $next:ident :: $($rest:tt)+) => {
        $crate::routes!(@add $sink [$($module)* $next] $($rest)+)
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    mod things {
        /// One thing.
        #[utoipa::path(get, path = "/v1/things/{id}", tag = "things",
            params(("id" = String, Path, description = "The thing")),
            responses((status = 200, description = "The thing")))]
        pub async fn get_thing() -> &'static str {
            "got"
        }

        /// Replaces one thing.
        #[utoipa::path(put, path = "/v1/things/{id}", tag = "things",
            params(("id" = String, Path, description = "The thing")),
            responses((status = 200, description = "Replaced")))]
        pub async fn put_thing() -> &'static str {
            "put"
        }
    }

    mod stats {
        #[utoipa::path(get, path = "/v1/stats", responses((status = 200, description = "Stats")))]
        pub async fn stats() -> &'static str {
            "stats"
        }
    }

    fn api<R: RouteSink<()>>(sink: R) -> R {
        sink.routes(routes!(things::get_thing, things::put_thing))
            .routes(routes!(stats::stats))
    }

    async fn call(router: Router, method: &str, uri: &str) -> (StatusCode, String) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn the_plain_router_serves_each_handler_at_its_path_and_method() {
        let router = api(Router::new());
        assert_eq!(
            call(router.clone(), "GET", "/v1/things/a").await,
            (StatusCode::OK, "got".into())
        );
        assert_eq!(
            call(router.clone(), "PUT", "/v1/things/a").await,
            (StatusCode::OK, "put".into())
        );
        assert_eq!(
            call(router.clone(), "GET", "/v1/stats").await,
            (StatusCode::OK, "stats".into())
        );
        let (status, _) = call(router.clone(), "DELETE", "/v1/things/a").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        let (status, _) = call(router, "GET", "/v1/thing/a").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn the_documented_router_routes_the_same_and_describes_every_operation() {
        let (router, doc) = api(OpenApiRouter::new()).split_for_parts();
        assert_eq!(
            call(router.clone(), "PUT", "/v1/things/a").await,
            (StatusCode::OK, "put".into())
        );
        assert_eq!(
            call(router, "GET", "/v1/stats").await,
            (StatusCode::OK, "stats".into())
        );
        let doc = serde_json::to_value(doc).unwrap();
        let thing = &doc["paths"]["/v1/things/{id}"];
        assert_eq!(thing["get"]["operationId"], "get_thing");
        assert_eq!(thing["put"]["operationId"], "put_thing");
        assert_eq!(thing["put"]["tags"], serde_json::json!(["things"]));
        assert_eq!(thing["get"]["parameters"][0]["name"], "id");
        assert_eq!(doc["paths"]["/v1/stats"]["get"]["operationId"], "stats");
        assert_eq!(doc["paths"].as_object().unwrap().len(), 2);
    }
}
