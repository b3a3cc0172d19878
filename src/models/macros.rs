//! The two macros every model is built with.
//!
//! `#[serde(flatten)]` would keep unknown keys too, but it buffers each object into serde's private
//! `Content` tree before matching fields, which makes decoding a large snapshot several times slower.
//! These macros write the map visitor by hand instead: each key is matched once, straight from the input.

/// Declares a JSON object model that keeps every key it does not type.
///
/// ```text
/// lossless_struct! {
///     /// Docs of the struct.
///     #[derive(Clone, Debug, PartialEq)]
///     pub struct Name {
///         /// Docs of the field.
///         required id: String = "id",
///         /// Docs of the field.
///         optional summary_root: serde_json::Value = "summaryRoot",
///     }
/// }
/// ```
///
/// Each field says whether it is `required` (a plain `T`: a missing key is an error naming the wire key)
/// or `optional` (an `Option<T>`: absent and `null` both decode to `None`, and `None` is not written),
/// then its Rust name, the type `T`, and its wire key. The macro adds a public
/// `extra: serde_json::Map<String, serde_json::Value>` that collects every other key; serialization writes
/// the typed fields in the order given, then `extra`. A key that appears twice is an error, as is an
/// `extra` key that duplicates a typed one when writing (the output would otherwise carry it twice).
macro_rules! lossless_struct {
    // The Rust type of a field.
    (@type required $ty:ty) => { $ty };
    (@type optional $ty:ty) => { Option<$ty> };

    // How many map entries a field writes.
    (@count required $value:expr) => { 1usize };
    (@count optional $value:expr) => { usize::from($value.is_some()) };

    // Writes a field's entry.
    (@write required $map:ident, $wire:literal, $value:expr) => {
        $map.serialize_entry($wire, &$value)?;
    };
    (@write optional $map:ident, $wire:literal, $value:expr) => {
        if let Some(value) = &$value {
            $map.serialize_entry($wire, value)?;
        }
    };

    // Turns the decoding slot (`None`: the key was not seen) into the field's value.
    (@finish required $slot:ident, $wire:literal, $error:ty) => {
        match $slot {
            Some(value) => value,
            None => return Err(<$error as de::Error>::missing_field($wire)),
        }
    };
    (@finish optional $slot:ident, $wire:literal, $error:ty) => {
        // `Some(None)` was an explicit `null`, which means the same as an absent key.
        $slot.flatten()
    };

    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                $kind:ident $field:ident : $ty:ty = $wire:literal,
            )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $(
                $(#[$field_meta])*
                pub $field: lossless_struct!(@type $kind $ty),
            )*
            /// Every key of the JSON object that has no typed field here, exactly as received; written back
            /// after the typed fields.
            pub extra: ::serde_json::Map<String, ::serde_json::Value>,
        }

        impl $name {
            /// The wire keys of the typed fields, in the order they are written. Any other key lands in
            /// `extra`.
            pub const TYPED_KEYS: &'static [&'static str] = &[$($wire),*];
        }

        // The block keeps these imports out of the module the macro is used in.
        const _: () = {
            use ::core::fmt;
            use ::serde::de::{self, MapAccess, Visitor};
            use ::serde::ser::{self, SerializeMap};
            use ::serde::{Deserialize, Deserializer, Serialize, Serializer};
            use ::serde_json::map::{Entry, Map};

            impl Serialize for $name {
                fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    let len = self.extra.len() $(+ lossless_struct!(@count $kind self.$field))*;
                    let mut map = serializer.serialize_map(Some(len))?;
                    $(lossless_struct!(@write $kind map, $wire, self.$field);)*
                    for (key, value) in &self.extra {
                        if Self::TYPED_KEYS.contains(&key.as_str()) {
                            return Err(<S::Error as ser::Error>::custom(format_args!(
                                "{}.extra holds the key `{}`, which is a typed field",
                                stringify!($name),
                                key
                            )));
                        }
                        map.serialize_entry(key, value)?;
                    }
                    map.end()
                }
            }

            // A key is matched against the wire names while it is still borrowed from the input; only
            // keys that go to `extra` are copied.
            #[allow(non_camel_case_types)]
            enum Key {
                $($field,)*
                Extra(String),
            }

            impl Key {
                fn typed(key: &str) -> Option<Key> {
                    match key {
                        $($wire => Some(Key::$field),)*
                        _ => None,
                    }
                }
            }

            struct KeyVisitor;

            impl Visitor<'_> for KeyVisitor {
                type Value = Key;

                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a field name")
                }

                fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                    Ok(Key::typed(key).unwrap_or_else(|| Key::Extra(key.to_owned())))
                }

                fn visit_string<E: de::Error>(self, key: String) -> Result<Key, E> {
                    Ok(Key::typed(&key).unwrap_or(Key::Extra(key)))
                }
            }

            impl<'de> Deserialize<'de> for Key {
                fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
                    deserializer.deserialize_identifier(KeyVisitor)
                }
            }

            struct ObjectVisitor;

            impl<'de> Visitor<'de> for ObjectVisitor {
                type Value = $name;

                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str(concat!("a ", stringify!($name), " object"))
                }

                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                    // The slots' types are inferred from the struct's fields, so that the field types are
                    // never named under this block's imports.
                    $(let mut $field = None;)*
                    let mut extra = Map::new();
                    while let Some(key) = map.next_key::<Key>()? {
                        match key {
                            $(
                                Key::$field => {
                                    if $field.is_some() {
                                        return Err(<A::Error as de::Error>::duplicate_field($wire));
                                    }
                                    $field = Some(map.next_value()?);
                                }
                            )*
                            Key::Extra(key) => match extra.entry(key) {
                                Entry::Vacant(slot) => {
                                    slot.insert(map.next_value()?);
                                }
                                Entry::Occupied(slot) => {
                                    return Err(<A::Error as de::Error>::custom(format_args!(
                                        "duplicate field `{}`",
                                        slot.key()
                                    )));
                                }
                            },
                        }
                    }
                    Ok($name {
                        $($field: lossless_struct!(@finish $kind $field, $wire, A::Error),)*
                        extra,
                    })
                }
            }

            impl<'de> Deserialize<'de> for $name {
                fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    deserializer.deserialize_map(ObjectVisitor)
                }
            }
        };
    };
}

/// Declares a string enum that keeps values it does not know.
///
/// ```text
/// lossless_enum! {
///     /// Docs of the enum.
///     pub enum Name {
///         /// Docs of the variant.
///         Known = "KNOWN",
///     }
/// }
/// ```
///
/// The macro adds a last variant `Other(String)` for any other string, and implements `as_str`,
/// `Display`, `FromStr` (never fails), `From<&str>`, `From<String>`, serde (the string itself, so an
/// unknown value is written back unchanged), and `PartialEq`/`Eq`/`Hash` by that string, so that
/// `Other("USER")` built by hand still equals the known variant.
macro_rules! lossless_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident = $wire:literal,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        #[non_exhaustive]
        pub enum $name {
            $(
                $(#[$variant_meta])*
                $variant,
            )*
            /// A value this version of the crate does not know, kept exactly as received.
            Other(String),
        }

        impl $name {
            /// The wire string of this value.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Other(value) => value,
                }
            }

            /// Whether this is one of the values this version of the crate knows.
            pub fn is_known(&self) -> bool {
                Self::known(self.as_str()).is_some()
            }

            fn known(value: &str) -> Option<Self> {
                match value {
                    $($wire => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }

        // The block keeps these imports out of the module the macro is used in.
        const _: () = {
            use ::core::convert::Infallible;
            use ::core::hash::{Hash, Hasher};
            use ::core::{fmt, str::FromStr};
            use ::serde::de::{self, Visitor};
            use ::serde::{Deserialize, Deserializer, Serialize, Serializer};

            impl fmt::Display for $name {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str(self.as_str())
                }
            }

            impl FromStr for $name {
                type Err = Infallible;

                fn from_str(value: &str) -> Result<Self, Infallible> {
                    Ok(Self::from(value))
                }
            }

            impl From<&str> for $name {
                fn from(value: &str) -> Self {
                    Self::known(value).unwrap_or_else(|| Self::Other(value.to_owned()))
                }
            }

            impl From<String> for $name {
                fn from(value: String) -> Self {
                    Self::known(&value).unwrap_or(Self::Other(value))
                }
            }

            impl PartialEq for $name {
                fn eq(&self, other: &Self) -> bool {
                    self.as_str() == other.as_str()
                }
            }

            impl Eq for $name {}

            impl Hash for $name {
                fn hash<H: Hasher>(&self, state: &mut H) {
                    self.as_str().hash(state);
                }
            }

            impl Serialize for $name {
                fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    serializer.serialize_str(self.as_str())
                }
            }

            struct StringVisitor;

            impl Visitor<'_> for StringVisitor {
                type Value = $name;

                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str(concat!("a ", stringify!($name), " string"))
                }

                fn visit_str<E: de::Error>(self, value: &str) -> Result<$name, E> {
                    Ok($name::from(value))
                }

                fn visit_string<E: de::Error>(self, value: String) -> Result<$name, E> {
                    Ok($name::from(value))
                }
            }

            impl<'de> Deserialize<'de> for $name {
                fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    deserializer.deserialize_str(StringVisitor)
                }
            }
        };
    };
}
