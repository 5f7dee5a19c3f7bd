//! Requests for quotation, matches, invitations and proposals.

use axum::http::Method;
use serde_json::Value;

use crate::{Auth, TestApp, TestResponse};

/// Sourcing: one method per endpoint; `org` is the buyer's org on buyer
/// routes and the supplier's on supplier routes.
impl TestApp {
    pub async fn create_rfq(&self, token: &str, org: &str, body: &Value) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfqs");
        self.call(Method::POST, &path, Some(token), Some(body))
            .await
    }

    pub async fn list_rfqs(&self, token: &str, org: &str, query: &str) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfqs?{query}");
        self.call(Method::GET, &path, Some(token), None).await
    }

    /// The RFQ as `org` sees it: its buyer, or an invited supplier.
    pub async fn get_rfq(&self, token: &str, org: &str, rfq: &str) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfqs/{rfq}");
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn update_rfq(
        &self,
        token: &str,
        org: &str,
        rfq: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfqs/{rfq}");
        self.call_if_match(Method::PATCH, &path, Some(token), if_match, Some(body))
            .await
    }

    pub async fn publish_rfq(&self, token: &str, org: &str, rfq: &str) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfqs/{rfq}/publish");
        self.call(Method::POST, &path, Some(token), None).await
    }

    pub async fn rfq_matches(&self, token: &str, org: &str, rfq: &str) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfqs/{rfq}/matches");
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn close_rfq(&self, token: &str, org: &str, rfq: &str) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfqs/{rfq}/close");
        self.call(Method::POST, &path, Some(token), None).await
    }

    pub async fn rfq_proposals(&self, token: &str, org: &str, rfq: &str) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfqs/{rfq}/proposals");
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn rfq_invitations(&self, token: &str, org: &str) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfq-invitations");
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn decline_rfq_invitation(
        &self,
        token: &str,
        org: &str,
        rfq: &str,
        body: &Value,
    ) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfq-invitations/{rfq}/decline");
        self.call(Method::POST, &path, Some(token), Some(body))
            .await
    }

    /// `POST` (first submit) or `PUT` (revision) of the supplier's proposal.
    pub async fn propose(
        &self,
        method: Method,
        token: &str,
        org: &str,
        rfq: &str,
        body: &Value,
    ) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfqs/{rfq}/proposal");
        self.request(method, &path, Auth::Bearer(token), Some(body), &[])
            .await
    }

    pub async fn withdraw_proposal(&self, token: &str, org: &str, rfq: &str) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfqs/{rfq}/proposal");
        self.call(Method::DELETE, &path, Some(token), None).await
    }

    /// `POST .../award`, with an `Idempotency-Key` if given.
    pub async fn award_rfq(
        &self,
        token: &str,
        org: &str,
        rfq: &str,
        body: &Value,
        key: Option<&str>,
    ) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfqs/{rfq}/award");
        let headers: Vec<(&str, &str)> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
        self.request(
            Method::POST,
            &path,
            Auth::Bearer(token),
            Some(body),
            &headers,
        )
        .await
    }

    pub async fn rfq_messages(&self, token: &str, org: &str, rfq: &str) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfqs/{rfq}/messages");
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn post_rfq_message(
        &self,
        token: &str,
        org: &str,
        rfq: &str,
        body: &Value,
    ) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfqs/{rfq}/messages");
        self.call(Method::POST, &path, Some(token), Some(body))
            .await
    }

    pub async fn amend_rfq(&self, token: &str, org: &str, rfq: &str, body: &Value) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfqs/{rfq}/amendments");
        self.call(Method::POST, &path, Some(token), Some(body))
            .await
    }

    /// The amendments as `org` sees them: the buyer, or an invited supplier.
    pub async fn rfq_amendments(&self, token: &str, org: &str, rfq: &str) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfqs/{rfq}/amendments");
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn shortlist(&self, token: &str, org: &str, rfq: &str, body: &Value) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfqs/{rfq}/shortlist");
        self.call(Method::POST, &path, Some(token), Some(body))
            .await
    }

    /// An attachment of an unsealed proposal, for the buyer.
    pub async fn proposal_attachment(
        &self,
        token: &str,
        org: &str,
        rfq: &str,
        proposal: &str,
        asset: &str,
    ) -> TestResponse {
        let path = format!("/v1/orgs/{org}/rfqs/{rfq}/proposals/{proposal}/attachments/{asset}");
        self.call(Method::GET, &path, Some(token), None).await
    }

    /// `POST /v1/orgs/{org}/fulfilments/{order}/milestones` (orders).
    pub async fn record_milestone(
        &self,
        token: &str,
        org: &str,
        order: &str,
        body: &Value,
    ) -> TestResponse {
        let path = format!("/v1/orgs/{org}/fulfilments/{order}/milestones");
        self.call(Method::POST, &path, Some(token), Some(body))
            .await
    }
}
