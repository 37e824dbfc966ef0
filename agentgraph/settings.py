"""agentgraph's configuration: one typed object, read from `agentgraph.toml` and `AGENTGRAPH_*` variables.

Precedence (highest first): keyword arguments, environment (`AGENTGRAPH_DATABASE_URL`,
`AGENTGRAPH_SERVER__URLS='["http://gpu:8000/v1"]'`, nested fields joined by `__`), the TOML file
(`./agentgraph.toml`, or the file named by `AGENTGRAPH_CONFIG`), then the defaults below.
This module is the only place that reads the environment.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = [
    "CheckpointSettings",
    "FinetuneSettings",
    "get_settings",
    "GraphSettings",
    "MemorySettings",
    "ModelSettings",
    "PolicySettings",
    "PROJECT_ROOT",
    "RetrievalSettings",
    "ServerSettings",
    "ServiceSettings",
    "Settings",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "agentgraph"


class ServerSettings(BaseModel):
    """Where the OpenAI-compatible vLLM server(s) listen and how agentgraph starts one."""

    urls: list[str] = Field(
        default_factory=list,
        description="Base URLs of the vLLM servers, tried in order (failover); empty: the local server "
        "that `agentgraph serve` starts on host:port.",
    )
    api_key: str = "EMPTY"
    host: str = "127.0.0.1"
    port: int = 8765
    request_timeout_s: float = 120.0
    max_retries: int = Field(default=2, ge=0, description="Retries of one request on one server (with backoff) before failing over.")
    failover_cooldown_s: float = Field(
        default=30.0,
        ge=0,
        description="After a server fails (unreachable, timed out, 5xx), it is tried after the others for this long.",
    )
    startup_timeout_s: float = 900.0
    max_loras: int = Field(
        default=5, ge=1, description="LoRA adapters the server holds at once (raised to the number of registered adapters when lower)."
    )
    max_lora_rank: int = 8
    max_model_len: int = 2048
    kv_cache_gib: int = 2
    runtime_adapters: bool = Field(
        default=False,
        description="Let the started server load and unload adapters while it runs "
        "(vLLM's /v1/load_lora_adapter; sets VLLM_ALLOW_RUNTIME_LORA_UPDATING).",
    )
    extra_args: list[str] = Field(default_factory=list, description="Extra vLLM command-line arguments.")
    state_dir: Path = Field(
        default=PROJECT_ROOT / ".agentgraph" / "server",
        description="Where `agentgraph serve` writes its pid, URL and log.",
    )

    @model_validator(mode="after")
    def _local_server_by_default(self) -> ServerSettings:
        if not self.urls:
            self.urls = [self.local_url]
        return self

    @property
    def local_url(self) -> str:
        """The URL of the server `agentgraph serve` starts on this machine (host:port)."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def is_local(self) -> bool:
        """Whether the servers used are the one `agentgraph serve` starts here (`urls` unset or naming only it)."""
        return self.urls == [self.local_url]


class ModelSettings(BaseModel):
    """Which base model profile to use and where prepared models are cached."""

    profile: str = "gemma3-270m-cpu"
    cache_dir: Path = Field(default_factory=lambda: _default_cache_dir() / "models")
    path: Path | None = Field(default=None, description="A prepared HF model folder; overrides the profile's own preparation.")


class GraphSettings(BaseModel):
    """Limits and fallbacks of the multi-agent graph."""

    max_handoffs: int = Field(default=6, ge=1, description="Handoffs the router may make for one question.")
    max_tool_rounds: int = Field(default=4, ge=0, description="Tool-calling rounds an agent may make for one task.")
    fallback_to_base: bool = Field(
        default=True, description="When an agent's adapter is not served, use the models of `fallback_models` instead."
    )
    fallback_models: list[str] = Field(
        default_factory=lambda: ["tools", "base"],
        min_length=1,
        description="Served models tried in order when an agent's adapter is not served: the generalist "
        "tool-calling adapter `tools`, then the base model.",
    )
    router_retries: int = Field(default=1, ge=0, description="Retries when the router gives no valid handoff.")
    router_history_turns: int = Field(
        default=3, ge=0, description="Earlier turns of the thread (question and answer) the router reads before the question."
    )
    router_answer_chars: int = Field(default=300, ge=20, description="Characters of each earlier answer the router reads.")
    builder: str = Field(
        default="agentgraph.graphs.supervisor:build",
        description="The graph the CLI runs: `module:function` or `path/to/file.py:function`, "
        "called with checkpointer=, store= and settings=.",
    )
    default_user: str = Field(
        default="local",
        min_length=1,
        description="The user whose memories a thread reads and writes when its config gives no `user_id` (the CLI's).",
    )

    def fallbacks(self) -> tuple[str, ...]:
        """The models an agent whose adapter is not served runs on, in order (none when the fallback is off)."""
        return tuple(self.fallback_models) if self.fallback_to_base else ()


class RetrievalSettings(BaseModel):
    """The document index of the retrieval agent: collection, chunking, search depth and input limits."""

    collection: str = Field(default="default", description="Collection that `ingest` and `search` use.")
    top_k: int = Field(default=3, ge=1, description="Passages the `search` tool returns.")
    focus_sentences: bool = Field(
        default=True,
        description="Show each passage as its sentences that best answer the query and task, best first "
        "(the shipped retrieval adapter, v3 on, was trained on passages shown this way).",
    )
    max_file_mb: float = Field(default=20.0, gt=0, description="Larger files are refused by `ingest`.")
    chunk_size: int = Field(default=400, ge=50, description="Target chunk length in characters (a few sentences).")
    chunk_overlap: int = Field(default=80, ge=0, description="Characters shared by neighbouring chunks.")
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal-rank fusion constant.")
    candidates: int = Field(default=20, ge=1, description="Candidates taken from each of BM25 and dense search.")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> RetrievalSettings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("retrieval.chunk_overlap must be smaller than retrieval.chunk_size")
        return self


class MemorySettings(BaseModel):
    """The user's memories (`agentgraph.memory`): how many are recalled, which count as relevant, how long one may be."""

    top_k: int = Field(default=3, ge=1, description="Memories `recall` and the supervisor's recalled facts give at most.")
    min_score: float = Field(
        default=0.35,
        ge=-1.0,
        le=1.0,
        description="Cosine similarity to the question a memory needs to be recalled, unless it shares a content word with it.",
    )
    max_fact_chars: int = Field(default=500, ge=1, description="Longer facts are refused by `remember`.")


class FinetuneSettings(BaseModel):
    """Where fine-tuning keeps its data, runs and configs, and how evaluation talks to the server."""

    data_dir: Path = Field(default=PROJECT_ROOT / "finetune" / "data", description="Built datasets, one folder per agent.")
    runs_dir: Path = Field(default=PROJECT_ROOT / "finetune" / "runs", description="Training runs (checkpoints, logs).")
    configs_dir: Path = Field(default=PROJECT_ROOT / "finetune" / "configs", description="One TOML training config per agent.")
    eval_concurrency: int = Field(default=8, ge=1, description="Requests the evaluation sends to the server at once.")


class ServiceSettings(BaseModel):
    """The HTTP service (`agentgraph service`): where it listens, its worker processes and request limits."""

    host: str = Field(default="127.0.0.1", description="Interface the service listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the service listens on.")
    workers: int = Field(default=1, ge=1, description="Worker processes; more than one needs PostgreSQL.")
    max_concurrent_runs: int = Field(
        default=32, ge=1, description="Runs one worker process executes at once; further runs wait for a slot."
    )
    shutdown_timeout_s: float = Field(default=30.0, ge=0, description="How long a stopping worker lets running runs finish.")
    lock_check_s: float = Field(
        default=5.0, gt=0, description="How often a worker checks the database connection that holds its run locks."
    )
    db_pool_size: int = Field(
        default=16, ge=1, description="Database connections each worker keeps open for checkpoints (up to 20 more at peak)."
    )
    runs_per_minute: int | None = Field(
        default=60,
        ge=1,
        description="Runs (POST /threads/{id}/runs) one API key may start per minute, over all workers (HTTP 429 "
        "past it; a key created with --runs-per-minute has its own limit). None: no limit.",
    )
    bootstrap_admin_key: SecretStr | None = Field(
        default=None,
        description="An admin API key (at least 32 random characters) that the service stores, hashed, when it "
        "starts and does not know it yet: the first key of a new deployment (Kubernetes takes it from a Secret).",
    )
    bootstrap_admin_name: str = Field(default="bootstrap-admin", description="The name the bootstrap admin key is stored under.")


class CheckpointSettings(BaseModel):
    """How the checkpoint savers store state values."""

    strict_types: bool = Field(
        default=False,
        description="A state value whose type cannot be imported back (a class defined inside a function): false "
        "stores it as LangGraph's serializer does, with a warning (it is read back as a dict of its fields); true "
        "refuses it when it is written, and refuses to read such a stored value.",
    )


class PolicySettings(BaseModel):
    """What a run and its tools may do: limits per run and per tool, and how untrusted arguments are treated.

    A run is one question. A limit that is reached ends the run with a note in the answer; the thread's
    state stays whole and can take the next question.
    """

    max_steps: int = Field(
        default=40, ge=1, description="Steps per run: each model turn and each round of tool calls, of the router and every agent."
    )
    max_model_calls: int = Field(default=30, ge=1, description="Requests to the model server per run (re-asks included).")
    max_tokens: int = Field(default=60_000, ge=1, description="Tokens (prompt + completion, as the server reports them) per run.")
    max_wall_s: float = Field(
        default=600.0,
        gt=0,
        description="Seconds a run may take, counted while it runs (time waiting for an approval or a restart is not counted).",
    )
    tool_calls_per_minute: int | None = Field(
        default=60, ge=1, description="Calls of one tool per minute in one thread (None: no limit); see tool_rate_limits."
    )
    tool_rate_limits: dict[str, int] = Field(
        default_factory=dict, description="Calls per minute per thread for named tools, overriding tool_calls_per_minute."
    )
    max_question_chars: int = Field(default=8000, ge=1, description="Longer questions are refused before anything runs.")
    max_repairs: int = Field(
        default=1, ge=0, description="Re-asks after a malformed model reply (unparseable or invalid call, empty, repetitive)."
    )
    untrusted_destinations: Literal["refuse", "approve"] = Field(
        default="refuse",
        description="A side-effecting or sensitive tool called with an e-mail address or URL the task does not name: "
        "refuse the call, or ask a person.",
    )
    untrusted_copies: Literal["refuse", "approve", "allow"] = Field(
        default="approve",
        description="A side-effecting or sensitive tool called with text copied from tool results (copied_words words "
        "in a row): refuse the call, ask a person, or allow it.",
    )
    copied_words: int = Field(default=12, ge=3, description="Words in a row that count as text copied from a tool result.")
    memory_copied_words: int = Field(
        default=4,
        ge=2,
        description="Words in a row that make a memory write a copy of a tool result or of a given fact; such writes are always refused.",
    )


class Settings(BaseSettings):
    """All of agentgraph's settings."""

    model_config = SettingsConfigDict(
        env_prefix="AGENTGRAPH_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / '.agentgraph' / 'agentgraph.db'}",
        description="SQLAlchemy URL of the checkpoint and memory store.",
    )
    registry_path: Path = Field(
        default=PROJECT_ROOT / "adapters" / "registry.toml",
        description="The adapter registry (which agent uses which LoRA adapter).",
    )
    model: ModelSettings = Field(default_factory=ModelSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    graph: GraphSettings = Field(default_factory=GraphSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    finetune: FinetuneSettings = Field(default_factory=FinetuneSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    checkpoint: CheckpointSettings = Field(default_factory=CheckpointSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("AGENTGRAPH_CONFIG", "agentgraph.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
