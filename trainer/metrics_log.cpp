#include "trainer/metrics_log.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "reference/core/error.hpp"
#include "reference/io/file_bytes.hpp"

namespace amt::trainer {
namespace {

namespace fs = std::filesystem;

struct Line {
  MetricsLog::Record record;
  std::string text;  // the line as stored, without its '\n'
};

std::string format_full(double v) {
  if (std::isnan(v)) return "nan";  // glibc prints "-nan" for a NaN with the sign bit set
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

MetricsLog::Record parse_record(const std::string& text, const std::string& path, size_t line_no) {
  const std::string field = "line " + std::to_string(line_no);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, field, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw FormatError(path, field, "not a JSON object");
  const auto integer = [&](const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) {
      throw FormatError(path, field, std::string("\"") + key + "\" is missing or not an integer");
    }
    return it->get<int64_t>();
  };
  MetricsLog::Record r;
  r.epoch = integer("epoch");
  r.step = integer("step");
  for (const auto& [key, value] : j.items()) {
    if (key == "epoch" || key == "step") continue;
    if (value.is_null()) {
      r.values[key] = std::numeric_limits<double>::quiet_NaN();
    } else if (value.is_number()) {
      r.values[key] = value.get<double>();
    } else {
      throw FormatError(path, field, "\"" + key + "\" is neither a number nor null");
    }
  }
  return r;
}

// Every non-empty line of a JSONL file. With `drop_torn_tail`, a last line without its '\n' that does not
// parse is what a crash mid-write leaves, and is dropped instead of reported.
std::vector<Line> parse_lines(const std::string& bytes, const std::string& path, bool drop_torn_tail) {
  std::vector<Line> lines;
  size_t pos = 0, line_no = 0;
  while (pos < bytes.size()) {
    ++line_no;
    const size_t nl = bytes.find('\n', pos);
    const bool terminated = nl != std::string::npos;
    std::string text = bytes.substr(pos, terminated ? nl - pos : std::string::npos);
    pos = terminated ? nl + 1 : bytes.size();
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty()) continue;
    try {
      lines.push_back({parse_record(text, path, line_no), std::move(text)});
    } catch (const FormatError&) {
      if (drop_torn_tail && !terminated) break;
      throw;
    }
  }
  return lines;
}

std::vector<Line> read_lines_if_any(const std::string& path, bool drop_torn_tail) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return {};
  return parse_lines(io::read_file_bytes(path), path, drop_torn_tail);
}

void check_columns(const std::vector<std::string>& columns) {
  std::set<std::string> seen;
  for (const auto& c : columns) {
    if (c.empty()) throw ValueError("MetricsLog: empty column name");
    if (c == "epoch" || c == "step") {
      throw ValueError("MetricsLog: column \"" + c +
                       "\" is reserved (epoch and step are always the first two)");
    }
    // The CSV is written without quoting, so a name must not need it.
    if (c.find_first_of(",\"\n\r") != std::string::npos) {
      throw ValueError("MetricsLog: column \"" + c + "\" has a comma, quote or newline");
    }
    if (!seen.insert(c).second) throw ValueError("MetricsLog: column \"" + c + "\" is given twice");
  }
}

void check_written(const std::ofstream& out, const std::string& path) {
  if (!out) throw IoError(path, std::string("cannot write: ") + std::strerror(errno));
}

}  // namespace

MetricsLog::MetricsLog(std::string dir, std::string stem, std::vector<std::string> columns)
    : columns_(std::move(columns)) {
  if (stem.empty() || stem.find('/') != std::string::npos) {
    throw ValueError("MetricsLog: file stem \"" + stem + "\" must be a plain, non-empty file name");
  }
  check_columns(columns_);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError(dir, "cannot create directory: " + ec.message());
  jsonl_path_ = (fs::path(dir) / (stem + ".jsonl")).string();
  csv_path_ = (fs::path(dir) / (stem + ".csv")).string();

  // A torn last line would otherwise be glued to the next record, spoiling both.
  if (fs::exists(jsonl_path_, ec)) {
    const std::string bytes = io::read_file_bytes(jsonl_path_);
    if (!bytes.empty() && bytes.back() != '\n') {
      const size_t keep = bytes.rfind('\n') == std::string::npos ? 0 : bytes.rfind('\n') + 1;
      fs::resize_file(jsonl_path_, keep, ec);
      if (ec) throw IoError(jsonl_path_, "cannot drop the torn last line: " + ec.message());
    }
  }

  std::string first_line;
  {
    std::ifstream in(csv_path_);
    if (in) std::getline(in, first_line);
  }
  if (first_line != csv_header()) {
    // A new log, or one written with other columns: the CSV is rebuilt from the JSONL under this header.
    std::string csv = csv_header() + "\n";
    for (const auto& line : read_lines_if_any(jsonl_path_, false)) csv += csv_line(line.record) + "\n";
    io::write_file_atomic(csv_path_, csv);
  }
  open_streams();
}

void MetricsLog::open_streams() {
  jsonl_.close();
  csv_.close();
  jsonl_.clear();
  csv_.clear();
  jsonl_.open(jsonl_path_, std::ios::out | std::ios::app | std::ios::binary);
  if (!jsonl_) throw IoError(jsonl_path_, std::string("cannot open for appending: ") + std::strerror(errno));
  csv_.open(csv_path_, std::ios::out | std::ios::app | std::ios::binary);
  if (!csv_) throw IoError(csv_path_, std::string("cannot open for appending: ") + std::strerror(errno));
}

std::string MetricsLog::csv_header() const {
  std::string h = "epoch,step";
  for (const auto& c : columns_) h += "," + c;
  return h;
}

std::string MetricsLog::csv_line(const Record& r) const {
  std::string line = std::to_string(r.epoch) + "," + std::to_string(r.step);
  for (const auto& c : columns_) {
    line += ",";
    const auto it = r.values.find(c);
    if (it != r.values.end()) line += format_full(it->second);
  }
  return line;
}

void MetricsLog::append(int64_t epoch, int64_t step, const std::map<std::string, double>& values) {
  const std::set<std::string> known(columns_.begin(), columns_.end());
  for (const auto& kv : values) {
    if (known.count(kv.first) == 0) {
      throw ValueError("MetricsLog " + jsonl_path_ + ": value \"" + kv.first + "\" is not a column");
    }
  }
  // ordered_json keeps epoch and step first and the values in column order, as in the CSV.
  nlohmann::ordered_json j;
  j["epoch"] = epoch;
  j["step"] = step;
  for (const auto& c : columns_) {
    const auto it = values.find(c);
    if (it == values.end()) continue;
    if (std::isfinite(it->second)) {
      j[c] = it->second;
    } else {
      j[c] = nullptr;
    }
  }
  jsonl_ << j.dump() << '\n';
  jsonl_.flush();
  check_written(jsonl_, jsonl_path_);
  csv_ << csv_line(Record{epoch, step, values}) << '\n';
  csv_.flush();
  check_written(csv_, csv_path_);
}

void MetricsLog::truncate_after(int64_t step) {
  // Every append was flushed, so the files hold every record; the streams stay open until the rewrite is
  // done, so a bad line (FormatError) leaves the log usable.
  std::string jsonl, csv = csv_header() + "\n";
  for (const auto& line : read_lines_if_any(jsonl_path_, true)) {
    if (line.record.step > step) continue;
    // The kept lines are copied as stored, so values keep their exact text (and keys of other columns).
    jsonl += line.text + "\n";
    csv += csv_line(line.record) + "\n";
  }
  io::write_file_atomic(jsonl_path_, jsonl);
  io::write_file_atomic(csv_path_, csv);
  // The old streams pointed at the replaced files; appends must go to the new ones.
  open_streams();
}

std::vector<MetricsLog::Record> MetricsLog::read(const std::string& jsonl_path) {
  std::vector<Record> records;
  for (auto& line : parse_lines(io::read_file_bytes(jsonl_path), jsonl_path, false)) {
    records.push_back(std::move(line.record));
  }
  return records;
}

}  // namespace amt::trainer
