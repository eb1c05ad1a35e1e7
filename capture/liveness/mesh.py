"""The face mesh and its measures for the liveness engine: ``capture.facemesh``, re-exported here
(the quality checks use the same mesh for pose, eyes and the head box)."""

from ..facemesh import (
                        CHEEK_LEFT,
                        CHEEK_RIGHT,
                        CROP_SCALE,
                        CROP_SHIFT,
                        INPUT,
                        LEFT_EYE,
                        MOUTH,
                        NOSE_TIP,
                        RIGHT_EYE,
                        MeshMeasures,
                        crop_square,
                        draw,
                        landmarks,
                        measures,
)

__all__ = ["CHEEK_LEFT", "CHEEK_RIGHT", "CROP_SCALE", "CROP_SHIFT", "INPUT", "LEFT_EYE", "MOUTH", "NOSE_TIP",
           "RIGHT_EYE", "MeshMeasures", "crop_square", "draw", "landmarks", "measures"]
