//! MCP (Model Context Protocol) tools over the service, for voice assistants and agents:
//! `search_documents` (query, k), `list_sources`, and `add_document` when the service is writable.
//! Served over stdio (`leann-edge mcp INDEX`) or streamable HTTP (`/mcp` on `serve`), through
//! rmcp, the official Rust SDK. The schemas are written out here (no derive), so a tool's contract
//! reads in one place.
use super::api::{ApiError, DocumentIn, SearchRequest};
use super::pool::Pool;
use super::Service;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{json, Value};
use std::sync::Arc;

/// The MCP server: the service's operations as tools.
#[derive(Clone)]
pub struct McpServer {
    svc: Arc<Service>,
    pool: Arc<Pool>,
}

impl McpServer {
    /// Tools over `svc`, run through `pool`.
    pub fn new(svc: Arc<Service>, pool: Arc<Pool>) -> Self {
        McpServer { svc, pool }
    }

    /// The tools this server offers (no `add_document` when read-only).
    pub fn tools(&self) -> Vec<Tool> {
        let mut t = vec![
            Tool::new(
                "search_documents",
                "Semantic search over the indexed documents: the passages that best answer the \
                 query, best first, with score, title, source and text.",
                schema(json!({
                    "type": "object",
                    "properties": {
                        "query": {"type": "string", "description": "The question or topic."},
                        "k": {"type": "integer", "minimum": 1, "maximum": super::MAX_SERVED_K,
                              "description": "Passages wanted (default 3)."}
                    },
                    "required": ["query"]
                })),
            ),
            Tool::new(
                "list_sources",
                "The indexed source files with passage counts and bytes, and the ids of \
                 passages added as records.",
                schema(json!({"type": "object", "properties": {}})),
            ),
        ];
        if !self.svc.engine().read_only() {
            t.push(Tool::new(
                "add_document",
                "Add a passage to the index, or replace the one with the same id. Long texts are \
                 split into passages ID, ID#2, …",
                schema(json!({
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "description": "Stable id (replaces an existing one)."},
                        "text": {"type": "string"},
                        "title": {"type": "string"},
                        "metadata": {"type": "object", "description": "String/number fields to filter on later, e.g. {\"lang\": \"en\"}.",
                                     "additionalProperties": {"type": ["string", "number", "boolean"]}}
                    },
                    "required": ["id", "text"]
                })),
            ));
        }
        t
    }

    /// Run one tool call (blocking work goes through the pool).
    pub async fn call(&self, name: &str, args: JsonObject) -> Result<Value, ApiError> {
        let svc = self.svc.clone();
        let args = Value::Object(args);
        let work: Box<dyn FnOnce() -> Result<Value, ApiError> + Send> = match name {
            "search_documents" => {
                let req = SearchRequest {
                    query: str_arg(&args, "query")?,
                    k: args.get("k").and_then(Value::as_u64).map(|k| k as usize),
                    ..Default::default()
                };
                svc.check(&req)?;
                Box::new(move || to_value(svc.search(&req)?))
            }
            "list_sources" => Box::new(move || to_value(svc.sources()?)),
            "add_document" => {
                svc.config_writable()?;
                let doc = DocumentIn {
                    id: str_arg(&args, "id")?,
                    text: str_arg(&args, "text")?,
                    title: args
                        .get("title")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    metadata: match args.get("metadata") {
                        None | Some(Value::Null) => None,
                        Some(Value::Object(m)) => Some(m.clone()),
                        Some(_) => {
                            return Err(ApiError::bad_request(
                                "metadata must be an object of string or number fields",
                            ))
                        }
                    },
                };
                Box::new(move || to_value(svc.add_documents(&[doc])?))
            }
            other => return Err(ApiError::not_found(format!("no tool {other:?}"))),
        };
        super::http::pooled(&self.pool, work).await
    }
}

fn schema(v: Value) -> Arc<JsonObject> {
    match v {
        Value::Object(m) => Arc::new(m),
        _ => Arc::new(JsonObject::new()),
    }
}

fn str_arg(args: &Value, name: &str) -> Result<String, ApiError> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request(format!("argument {name:?} (a string) is required")))
}

fn to_value<T: serde::Serialize>(v: T) -> Result<Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::internal(e.to_string()))
}

/// A search answer as text an assistant can read out: one numbered passage per hit.
fn answer_text(v: &Value) -> String {
    let hits = v["hits"].as_array().cloned().unwrap_or_default();
    if hits.is_empty() {
        return "No relevant passage found.".into();
    }
    hits.iter()
        .map(|h| {
            let src = h["source"].as_str().or(h["id"].as_str()).unwrap_or("");
            format!(
                "{}. [{:.3}] {} {}\n{}",
                h["rank"],
                h["score"].as_f64().unwrap_or(0.0),
                h["title"].as_str().unwrap_or(""),
                src,
                h["text"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("leann-edge", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Search the user's own documents with search_documents; cite the source of the \
                 passages you use.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.to_string();
        let args = request.arguments.unwrap_or_default();
        let result = match self.call(&name, args).await {
            Ok(v) => {
                let text = if name == "search_documents" {
                    answer_text(&v)
                } else {
                    serde_json::to_string_pretty(&v).unwrap_or_default()
                };
                let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
                r.structured_content = Some(v);
                r
            }
            // The caller sees tool errors (bad arguments, read-only, busy) as text.
            Err(e) => CallToolResult::error(vec![ContentBlock::text(e.message)]),
        };
        Ok(result.into())
    }
}

/// The MCP server as a tower service for `/mcp` (streamable HTTP).
pub fn http_service(
    svc: Arc<Service>,
    pool: Arc<Pool>,
    cfg: StreamableHttpServerConfig,
) -> StreamableHttpService<McpServer, LocalSessionManager> {
    let server = McpServer::new(svc, pool);
    StreamableHttpService::new(move || Ok(server.clone()), Default::default(), cfg)
}

/// Serve MCP over stdin/stdout until the client closes it.
pub async fn serve_stdio(svc: Arc<Service>, pool: Arc<Pool>) -> std::io::Result<()> {
    use rmcp::ServiceExt;
    let running = McpServer::new(svc, pool)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(())
}
