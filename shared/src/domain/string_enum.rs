//! Enums stored and shown as fixed strings (statuses, states, kinds).

/// Declares an enum whose variants are stored and shown as the given
/// strings, with `ALL`, `as_str`, `parse`, `Display`, serde and an OpenAPI
/// schema. The caller's crate needs `serde` and `utoipa`.
///
/// ```ignore
/// shared::string_enum! {
///     /// Where a thing is.
///     Status { Draft = "draft", Active = "active", }
/// }
/// ```
#[macro_export]
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:tt,)* }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema,
        )]
        pub enum $name {
            $(#[serde(rename = $text)] $variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($text => Some($name::$variant),)* _ => None }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::string_enum! {
        Light { Red = "red", Green = "green", }
    }

    #[test]
    fn variants_round_trip_through_their_strings() {
        for light in Light::ALL {
            assert_eq!(Light::parse(light.as_str()), Some(*light));
            assert_eq!(
                serde_json::to_value(light).unwrap(),
                serde_json::json!(light.as_str())
            );
        }
        assert_eq!(Light::parse("blue"), None);
        assert_eq!(Light::Green.to_string(), "green");
    }
}
