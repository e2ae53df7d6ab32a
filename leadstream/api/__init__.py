"""`leadstream api`: the HTTP API in front of the pipeline (docs/api.md).

`app.create_app` builds the FastAPI app (its OpenAPI document is generated from the pydantic
models and committed as docs/openapi.json); `server.serve` runs it with uvicorn; `keys_cli`
is `leadstream api-keys create|list|revoke`.
"""
