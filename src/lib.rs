//! # leann-edge
//!
//! Semantic search for small devices in a tiny fraction of the storage a normal vector index needs.
//! After the LEANN paper: the index keeps a **pruned proximity graph** and **small product-quantisation
//! codes**, stores **no embeddings**, and at query time recomputes exact embeddings with a text encoder
//! for only the few passages that cheap PQ distances point to.
//!
//! Data flow (see `ARCHITECTURE.md`):
//! passages → [`Embedder`] → vectors → graph build + [`prune`](graph::prune) → compact CSR graph,
//! [`pq`] codes → one checksummed index file ([`format`]) → [`search`] (two-level, batched recompute).
//!
//! ## Features
//! - `std` (default): files, memory maps, the parallel builder, ingest.
//! - `tract` (default): the default encoder, a quantised MiniLM run by tract ([`embed::tract`]).
//! - `cli` (default): the `leann-edge` command-line tool.
//! - `serve` (default): the resident service ([`service`]): HTTP JSON API, kiosk page and MCP
//!   (tokio, axum, rmcp).
//! - `tensorrt`: the Jetson encoder backend, loaded at run time. Without it (or without TensorRT on the
//!   machine) [`embed::tensorrt::TensorRtEmbedder::open`] returns [`embed::EmbedError::BackendUnavailable`].
//!
//! With `--no-default-features` the search path (graph, PQ, cache, flash sources over embedded-io,
//! two-level search) builds for `no_std + alloc` targets.
//!
//! ## Example: index precomputed vectors and search them
//! ```
//! use leann_edge::{embed::TableEmbedder, index::{BuildParams, IndexBuilder, Index}, search::SearchParams, Embedder};
//! // 200 toy 8-d unit vectors; passage i's text is "p{i}".
//! let dim = 8;
//! let mut rows = Vec::new();
//! for i in 0..200u32 {
//!     let mut v: Vec<f32> = (0..dim).map(|j| ((i * 7 + j as u32 * 13) % 17) as f32 - 8.0).collect();
//!     leann_edge::kernels::normalize(&mut v);
//!     rows.extend(v);
//! }
//! let texts: Vec<String> = (0..200).map(|i| format!("p{i}")).collect();
//! let emb = TableEmbedder::new(dim, texts.clone(), rows.clone());
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("toy.leann");
//! let params = BuildParams { pq_subspaces: 4, ..BuildParams::default() };
//! let mut b = IndexBuilder::new(params);
//! for t in &texts { b.add_passage(leann_edge::passages::PassageRecord::plain(t)); }
//! b.build_with_vectors(&rows, dim, &emb.fingerprint(), &path).unwrap();
//! let index = Index::open(&path).unwrap();
//! let q = &rows[5 * dim..6 * dim];
//! let res = index.search(q, &emb, &SearchParams::default()).unwrap();
//! // Ids are storage positions; the passage keeps its insertion index (or the id you gave).
//! assert_eq!(index.passage(res.hits[0].id).unwrap().text, "p5");
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

extern crate alloc;

pub mod bits;
pub mod cache;
pub mod embed;
pub mod error;
pub mod exact;
pub mod flash;
pub mod format;
pub mod graph;
pub mod index;
pub mod kernels;
pub mod metadata;
pub mod passages;
pub mod pq;
pub mod rng;
pub mod search;

#[cfg(feature = "std")]
pub mod boards;
#[cfg(feature = "tract")]
pub mod engine;
#[cfg(feature = "std")]
pub mod env;
#[cfg(feature = "std")]
pub mod ingest;
#[cfg(feature = "serve")]
pub mod service;

pub use embed::Embedder;
#[cfg(feature = "tract")]
pub use engine::{Engine, EngineOptions, SearchRequest};
pub use error::{Error, ErrorCode};
