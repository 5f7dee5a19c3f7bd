//! Paying by invoice: nothing is charged here. The order waits until an
//! admin marks the invoice paid, and a refund is a credit note issued
//! outside the system, so neither step can fail.

use super::{
    PaymentError, PaymentProvider, PaymentRequest, PaymentStart, PaymentStatus, RefundOutcome,
    RefundRequest,
};

#[derive(Debug, Clone, Copy, Default)]
pub struct InvoiceProvider;

impl PaymentProvider for InvoiceProvider {
    fn name(&self) -> &'static str {
        "invoice"
    }

    async fn start(&self, request: &PaymentRequest) -> Result<PaymentStart, PaymentError> {
        Ok(PaymentStart {
            reference: format!("inv_{}", request.order_id),
            client_secret: None,
            status: PaymentStatus::RequiresAction,
        })
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, PaymentError> {
        Ok(RefundOutcome {
            reference: format!("credit_{}", request.order_id),
        })
    }

    /// An unpaid invoice needs no voiding: the cancelled order says enough.
    async fn void(&self, _reference: &str) -> Result<(), PaymentError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Money;

    #[tokio::test]
    async fn an_invoice_waits_for_an_admin_and_refunds_as_a_credit_note() {
        let amount = Money::parse(1234, "EUR").unwrap();
        let start = InvoiceProvider
            .start(&PaymentRequest {
                order_id: "01ORDER".into(),
                amount,
                description: "Order 01ORDER".into(),
            })
            .await
            .unwrap();
        assert_eq!(start.reference, "inv_01ORDER");
        assert_eq!(start.client_secret, None);
        assert_eq!(start.status, PaymentStatus::RequiresAction);
        let refund = InvoiceProvider
            .refund(&RefundRequest {
                order_id: "01ORDER".into(),
                reference: start.reference,
                amount,
                attempt: 0,
            })
            .await
            .unwrap();
        assert_eq!(refund.reference, "credit_01ORDER");
    }
}
