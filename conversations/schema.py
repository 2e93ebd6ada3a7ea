"""OpenAPI 3.1 document of the customer API, served at ``/api/schema/``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "detail"],
            "properties": {"code": {"type": "string"}, "detail": {"type": "string"}},
        }
    },
}


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def document() -> dict[str, Any]:
    max_chars = settings.MESSAGE_MAX_CHARS
    conversation_id = {
        "name": "conversation_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Parley customer API", "version": "1.0.0"},
        "components": {
            "securitySchemes": {"conversationToken": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": _ERROR,
                "Source": {
                    "type": "object",
                    "required": ["title"],
                    "properties": {
                        "title": {"type": "string"},
                        "score": {"type": "number"},
                        "section": {"type": "string"},
                        "url": {"type": "string", "format": "uri"},
                    },
                },
                "Message": {
                    "type": "object",
                    "required": [
                        "id",
                        "seq",
                        "role",
                        "text",
                        "status",
                        "created_at",
                        "sources",
                        "grounded",
                        "handoff",
                        "mode",
                    ],
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "seq": {"type": "integer", "minimum": 1},
                        "role": {"enum": ["customer", "assistant", "agent", "system"]},
                        "text": {"type": "string"},
                        "status": {"enum": ["pending", "streaming", "complete", "failed"]},
                        "created_at": {"type": "string", "format": "date-time"},
                        "sources": {"type": "array", "items": {"$ref": "#/components/schemas/Source"}},
                        "grounded": {"type": "boolean"},
                        "handoff": {"type": "boolean"},
                        "mode": {
                            "enum": ["", "model", "quote", "smalltalk", "handoff", "declined", "stopped", "failed"],
                            "description": "How an assistant reply was made; empty for other roles.",
                        },
                    },
                },
                "NewMessage": {
                    "type": "object",
                    "required": ["text", "client_id"],
                    "properties": {
                        "text": {"type": "string", "minLength": 1, "maxLength": max_chars},
                        "client_id": {"type": "string", "format": "uuid"},
                    },
                },
            },
        },
        "paths": {
            "/api/conversations/": {
                "post": {
                    "summary": "Start a conversation",
                    "requestBody": {
                        "required": False,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"origin": {"type": "string", "maxLength": 300}},
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "Created. Keep the token: it is shown once.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["id", "token", "ws_url"],
                                        "properties": {
                                            "id": {"type": "string", "format": "uuid"},
                                            "token": {"type": "string"},
                                            "ws_url": {"type": "string"},
                                        },
                                    }
                                }
                            },
                        },
                        "400": _error_response("Malformed body"),
                    },
                }
            },
            "/api/conversations/{conversation_id}/messages/": {
                "parameters": [conversation_id],
                "get": {
                    "summary": "Messages after a seq, in seq order",
                    "security": [{"conversationToken": []}],
                    "parameters": [
                        {
                            "name": "after",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 0, "default": 0},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "Messages",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["messages"],
                                        "properties": {
                                            "messages": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Message"},
                                            }
                                        },
                                    }
                                }
                            },
                        },
                        "400": _error_response("Bad 'after'"),
                        "401": _error_response("Missing or wrong token"),
                        "404": _error_response("No such conversation"),
                    },
                },
                "post": {
                    "summary": "Send a customer message (idempotent on client_id)",
                    "security": [{"conversationToken": []}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewMessage"}}},
                    },
                    "responses": {
                        "202": {
                            "description": "Stored; the reply arrives on the websocket or by polling",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["message"],
                                        "properties": {"message": {"$ref": "#/components/schemas/Message"}},
                                    }
                                }
                            },
                        },
                        "400": _error_response("Invalid or too long"),
                        "401": _error_response("Missing or wrong token"),
                        "404": _error_response("No such conversation"),
                    },
                },
            },
            "/api/schema/": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/healthz": {"get": {"summary": "Process up", "responses": {"200": {"description": "Up"}}}},
            "/readyz": {
                "get": {
                    "summary": "Database, Redis and workers reachable",
                    "responses": {"200": {"description": "Ready"}, "503": {"description": "Not ready"}},
                }
            },
        },
    }


def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(document())
