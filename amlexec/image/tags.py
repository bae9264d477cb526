"""Content-hash names for environment images, and the labels that find them again.

An environment image's tag is a hash of what the image contains, and of nothing else: the base image's id
(so rebuilding the base invalidates it), the base image's interpreter, the dependency file's meaning, the
local wheels' contents, or instead the packages of the lock the image is built from (with the py-rattler
version that installs them), and amlexec's image recipe. How the packages are fetched is not part of it:
an image built offline (wheels downloaded by the host) and one built online (pip in the build) from the
same file are the same environment, so a prepare in either mode makes the image every later submit uses,
in either mode (issue 10). Equal inputs give the same tag, so a prepare with no change finds the image and
builds nothing. Images live in one repository per project folder (its name
plus a hash of its path, since two folders may share a name), so cleaning one project never removes an
image another project uses; identical layers are still shared on disk and in the build cache.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..environment.dockerfile import RECIPE_VERSION, PipMode, render_dockerfile
from ..environment.plan import EnvironmentPlan

ENV_REPOSITORY_PREFIX = "amlexec-env"
LABEL = "amlexec"
LABEL_PROJECT = "amlexec.project"
LABEL_PROJECT_ROOT = "amlexec.project_root"
LABEL_ENVIRONMENT = "amlexec.environment"
LABEL_RUN_ID = "amlexec.run_id"
LABEL_PIP = "amlexec.pip"  # how the build installed the pip packages (none/online/offline): reported, not hashed
HASH_LENGTH = 20


@dataclass(frozen=True)
class ImageName:
    repository: str
    tag: str

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"


def slug(name: str) -> str:
    """A project name as a Docker repository path component: [a-z0-9] runs joined by '-', '_' or '.'."""
    text = re.sub(r"[^a-z0-9._-]+", "-", name.lower())
    text = re.sub(r"[._-]{2,}", "-", text).strip("._-")
    return text[:64].rstrip("._-") or "project"


def environment_hash(*, base_id: str, interpreter: str, plan: EnvironmentPlan,
                     lock: dict[str, str] | None = None) -> str:
    """The tag; `lock` describes the lock an image is built from (None for images without one).

    An image built from a lock is defined by what the lock installs, not by the dependency file's text
    (the lock is checked against the file before): relocking to the same packages finds the same image.
    Whether pip runs at all follows from the plan or the lock; online or offline is left out on purpose.
    """
    recipe = render_dockerfile_template_digest()
    meaning: dict[str, object] = {
        "recipe": RECIPE_VERSION, "template": recipe, "base": base_id, "interpreter": interpreter,
    }
    meaning.update(plan.digest_inputs() if lock is None else {"lock": dict(lock)})
    return hashlib.sha256(json.dumps(meaning, sort_keys=True).encode()).hexdigest()[:HASH_LENGTH]


def render_dockerfile_template_digest() -> str:
    """A digest of the Dockerfile text for fixed inputs, so editing the recipe changes every tag even if
    someone forgets to bump RECIPE_VERSION."""
    from ..environment.dockerfile import CondaRecipe, Recipe, render_tool_dockerfile

    condas = (None, CondaRecipe("T", conda_python=False), CondaRecipe("T", conda_python=True))
    text = "".join(render_dockerfile(Recipe(base="B", interpreter="I", pip=mode, labels=(("K", "V"),), conda=c))
                   for mode in PipMode for c in condas)
    text += render_tool_dockerfile("B", "I", "W", (("K", "V"),))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def tool_image(project_name: str, project_root: Path, *, base_id: str, interpreter: str, wheel: str) -> ImageName:
    """The project's conda tool image (py-rattler unpacked over the base image), one per base and wheel."""
    from ..environment.dockerfile import render_tool_dockerfile

    text = render_tool_dockerfile(base_id, interpreter, wheel, ())
    digest = hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]
    return ImageName(environment_repository(project_name, project_root), f"conda-tool-{digest}")


def environment_repository(project_name: str, project_root: Path) -> str:
    where = hashlib.sha256(str(project_root).encode()).hexdigest()[:8]
    return f"{ENV_REPOSITORY_PREFIX}/{slug(project_name)}-{where}"


def environment_image(project_name: str, project_root: Path, env_hash: str) -> ImageName:
    return ImageName(environment_repository(project_name, project_root), env_hash)


def project_labels(project_name: str, project_root: Path) -> dict[str, str]:
    return {LABEL: "1", LABEL_PROJECT: project_name, LABEL_PROJECT_ROOT: str(project_root)}


def image_labels(project_name: str, project_root: Path, env_hash: str, *, pip: PipMode | None = None
                 ) -> dict[str, str]:
    labels = {**project_labels(project_name, project_root), LABEL_ENVIRONMENT: env_hash}
    if pip is not None:
        labels[LABEL_PIP] = pip.value
    return labels
