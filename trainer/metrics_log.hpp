// The training metrics log: `<dir>/<stem>.jsonl` (one JSON object per record, the source of truth) and
// `<dir>/<stem>.csv` (the same records as a table for spreadsheets and pandas).
//
//   jsonl:  {"epoch":1,"step":200,"loss":0.4213,"lr":0.0001,"val_mpjpe_mm":null}
//   csv:    epoch,step,loss,lr,val_mpjpe_mm
//           1,200,0.42130000000000001,0.0001,nan
//
// Values keep full precision (shortest round-trip form in the JSONL, "%.17g" in the CSV). A value absent from
// a record is omitted from its JSON object and leaves an empty CSV cell; a non-finite value is written as
// JSON null (and "nan"/"inf" in the CSV) and reads back as NaN.
#pragma once
#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace amt::trainer {

class MetricsLog {
 public:
  struct Record {
    int64_t epoch = 0, step = 0;
    std::map<std::string, double> values;
  };

  // Creates `dir` if needed and opens both files for appending. `stem` is the file name without extension
  // ("metrics", "train_log"); `columns` are the value columns, in CSV order (epoch and step come first on
  // their own). amt::ValueError for an empty or duplicated column, one named epoch/step, or one with a comma,
  // quote or newline; amt::IoError naming the file when it cannot be opened.
  // An existing CSV whose header is not this column list is rebuilt from the JSONL, so its rows always match
  // its header; a torn last JSONL line (a crash mid-write) is dropped, so the next record starts a line.
  MetricsLog(std::string dir, std::string stem, std::vector<std::string> columns);

  // Appends one record to both files and flushes them. amt::ValueError for a value whose name is not a
  // column (it would be missing from the CSV); amt::IoError naming the file when a write fails.
  void append(int64_t epoch, int64_t step, const std::map<std::string, double>& values);

  // Keeps only the records with step <= `step` in both files (each rewritten atomically: temporary file in
  // the same folder, then rename), so a run resumed from a checkpoint at `step` does not keep the records an
  // earlier attempt wrote after it.
  void truncate_after(int64_t step);

  // Reads a JSONL log. amt::FormatError naming the file and "line N" for a line that is not an object with
  // integer "epoch" and "step" and number-or-null values; amt::IoError when it cannot be read.
  static std::vector<Record> read(const std::string& jsonl_path);

  const std::string& jsonl_path() const { return jsonl_path_; }
  const std::string& csv_path() const { return csv_path_; }
  const std::vector<std::string>& columns() const { return columns_; }

 private:
  void open_streams();
  std::string csv_header() const;
  std::string csv_line(const Record& r) const;

  std::string jsonl_path_, csv_path_;
  std::vector<std::string> columns_;
  std::ofstream jsonl_, csv_;
};

}  // namespace amt::trainer
