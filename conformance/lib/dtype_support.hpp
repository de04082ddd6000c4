// The dtype support matrix (PyTorch's test_dtypes idea): for every op the model uses × {fp16, bf16, fp32,
// fp64} × {plain, under CPU bf16 autocast}, what the linked LibTorch does — works, throws (with its message)
// or is silently wrong (relative L2 against the same op in fp64 on the same rounded inputs, beyond the
// dtype's tolerance) — compared with the declared file conformance/data/dtype_support.json. A LibTorch
// upgrade that adds a kernel shows up as "unexpected pass", one that loses or breaks one as "unexpected
// failure".
#pragma once
#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace amt::conformance {

struct DtypeCell {
  std::string op, dtype, mode;  // "linear", "bf16", "autocast"
  std::string status;           // "works" | "throws" | "wrong"
  std::string detail;           // output dtype and relative L2, or the error's first line
};

// Runs every op × dtype × mode on this LibTorch (CPU; deterministic inputs).
std::vector<DtypeCell> observe_dtype_support();
// The op names, in table order, with what each stands for in the model.
std::vector<std::pair<std::string, std::string>> dtype_support_ops();

struct DtypeMismatch {
  DtypeCell observed;
  std::string declared;
  std::string kind;  // "unexpected pass" | "unexpected failure" | "changed" | "undeclared"
  std::string line() const;
};
// `declared`: {"ops": {"<op>": {"<dtype>/<mode>": "works|throws|wrong"}}}.
std::vector<DtypeMismatch> compare_dtype_support(const std::vector<DtypeCell>& observed,
                                                 const nlohmann::json& declared);
nlohmann::json dtype_support_json(const std::vector<DtypeCell>& observed);  // the declared file's format
std::string dtype_support_markdown(const std::vector<DtypeCell>& observed);
// conformance/data/dtype_support.json, found like golden/ ($AMT_DTYPE_SUPPORT overrides).
std::string find_declared_dtype_support();
nlohmann::json read_declared_dtype_support(const std::string& path);

}  // namespace amt::conformance
