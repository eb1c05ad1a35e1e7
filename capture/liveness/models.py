"""The liveness engine's models: the capture-level loader (``capture.models``), re-exported here."""

from ..models import FACE_MESH, MINIFASNET_V1SE, MINIFASNET_V2, MODELS_DIR, model_path, net

__all__ = ["FACE_MESH", "MINIFASNET_V1SE", "MINIFASNET_V2", "MODELS_DIR", "model_path", "net"]
