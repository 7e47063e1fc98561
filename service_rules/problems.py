"""Problems found in content, reported to editors in Chinese with file, place and fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Problem:
    file: str
    path: str  # YAML path such as services[0].promises[1].working_days
    message: str
    fix: str
    line: int | None = None
    severity: Literal["error", "warning"] = "error"

    def render(self) -> str:
        where = self.file
        if self.line is not None:
            where += f" 第 {self.line} 行"
        if self.path:
            where += f"（{self.path}）"
        label = "错误" if self.severity == "error" else "提醒"
        return f"[{label}] {where}：{self.message}\n    怎么改：{self.fix}"


@dataclass
class ContentError(Exception):
    """Raised when content cannot be loaded; carries every problem found, not just the first."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return render_problems(self.problems)


def render_problems(problems: list[Problem]) -> str:
    errors = [p for p in problems if p.severity == "error"]
    lines = [p.render() for p in problems]
    if errors:
        lines.append(f"共发现 {len(errors)} 处错误，请按提示修改后再运行检查。")
    return "\n".join(lines)
