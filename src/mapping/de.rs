//! Deserialization helpers shared by the mapping file's types: values written either as
//! text or as a small map (`site: "Leeds"` or `site: {id: 12}`), Halo ids and non-empty
//! names. Each reports what it expected, so that the loader's error names the key path
//! (through `serde_path_to_error`) and the expectation.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Unexpected, Visitor};

/// A Halo record id: a whole number greater than 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HaloId(i64);

impl HaloId {
    /// The id, when `id > 0`.
    pub fn new(id: i64) -> Option<HaloId> {
        (id > 0).then_some(HaloId(id))
    }

    /// The id as Halo's API takes it.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for HaloId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

const HALO_ID: &str = "a Halo id (a whole number greater than 0)";

impl<'de> Deserialize<'de> for HaloId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HaloId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(HALO_ID)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<HaloId, E> {
                HaloId::new(v).ok_or_else(|| E::invalid_value(Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<HaloId, E> {
                i64::try_from(v)
                    .ok()
                    .and_then(HaloId::new)
                    .ok_or_else(|| E::invalid_value(Unexpected::Unsigned(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// Trimmed, non-empty text (a name or a property), or `None`.
pub(crate) fn name(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// `deserialize_with` for a required non-empty name (trimmed).
pub(crate) fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    text(d, "a non-empty name", name)
}

/// A value written as text (numbers and booleans read as their text when `scalars`) or, when
/// `map` is set, as a map of a derived type `M` with denied unknown fields, turned into `T`.
struct TextOrMap<T, M> {
    expecting: &'static str,
    text: fn(&str) -> Option<T>,
    map: Option<fn(M) -> Result<T, String>>,
    scalars: bool,
    marker: PhantomData<M>,
}

impl<'de, T, M: Deserialize<'de>> Visitor<'de> for TextOrMap<T, M> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.text)(v).ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        if self.scalars {
            self.visit_str(&v.to_string())
        } else {
            Err(E::invalid_type(Unexpected::Signed(v), &self))
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        if self.scalars {
            self.visit_str(&v.to_string())
        } else {
            Err(E::invalid_type(Unexpected::Unsigned(v), &self))
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        if self.scalars {
            self.visit_str(&v.to_string())
        } else {
            Err(E::invalid_type(Unexpected::Float(v), &self))
        }
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        if self.scalars {
            self.visit_str(if v { "true" } else { "false" })
        } else {
            Err(E::invalid_type(Unexpected::Bool(v), &self))
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        let Some(convert) = self.map else {
            return Err(de::Error::invalid_type(Unexpected::Map, &self));
        };
        let m = M::deserialize(MapAccessDeserializer::new(map))?;
        convert(m).map_err(de::Error::custom)
    }
}

/// Text only (see [`TextOrMap`]); anything else is a type error.
pub(crate) fn text<'de, D, T>(
    d: D,
    expecting: &'static str,
    text: fn(&str) -> Option<T>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    d.deserialize_any(TextOrMap::<T, de::IgnoredAny> {
        expecting,
        text,
        map: None,
        scalars: false,
        marker: PhantomData,
    })
}

/// Text or a map (see [`TextOrMap`]); other scalars are a type error.
pub(crate) fn text_or_map<'de, D, T, M>(
    d: D,
    expecting: &'static str,
    text: fn(&str) -> Option<T>,
    map: fn(M) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    M: Deserialize<'de>,
{
    either(d, expecting, text, map, false)
}

/// Like [`text_or_map`], numbers and booleans being read as their text (`employeeId: 42`).
pub(crate) fn scalar_or_map<'de, D, T, M>(
    d: D,
    expecting: &'static str,
    text: fn(&str) -> Option<T>,
    map: fn(M) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    M: Deserialize<'de>,
{
    either(d, expecting, text, map, true)
}

/// [`text_or_map`] and [`scalar_or_map`]: `scalars` = numbers and booleans read as text.
fn either<'de, D, T, M>(
    d: D,
    expecting: &'static str,
    text: fn(&str) -> Option<T>,
    map: fn(M) -> Result<T, String>,
    scalars: bool,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    M: Deserialize<'de>,
{
    d.deserialize_any(TextOrMap {
        expecting,
        text,
        map: Some(map),
        scalars,
        marker: PhantomData,
    })
}

/// `deserialize_with` for a value compared as text: a string, number or boolean.
pub(crate) fn scalar_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(TextOrMap::<String, de::IgnoredAny> {
        expecting: "a text, number or boolean",
        text: |s| Some(s.to_string()),
        map: None,
        scalars: true,
        marker: PhantomData,
    })
}

/// `deserialize_with` for an optional non-empty name (trimmed); needs `#[serde(default)]`.
pub(crate) fn some_non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    non_empty(d).map(Some)
}
