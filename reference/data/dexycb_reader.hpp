// The DexYCB reader: indexes one setup/split of a dataset root exactly as the DexYCB toolkit does (sample
// order sequence → camera → frame; dexycb_splits.hpp) and loads samples (sample.hpp).
//
// Partial trees (a download of a few subjects, or a generated dataset): the split's subjects that exist are
// used; in each, the sequence directories are sorted by name and the split rule is applied to their
// positions, exactly as on the full tree (where the toolkit asserts 100 per subject; more than 100 is an
// error here too); a camera of the split is used for a sequence when its directory exists. On a complete tree
// this is the toolkit's index, sample for sample.
//
// Construction reads every selected meta.yml, the intrinsics of the cameras used and the MANO calibrations;
// labels and images are read by load(). Errors: amt::IoError / amt::FormatError naming the file and field.
// Thread safety: const methods may be called concurrently.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "reference/data/dexycb_layout.hpp"
#include "reference/data/dexycb_splits.hpp"
#include "reference/data/sample.hpp"

namespace amt::data {

struct LoadOptions {
  bool image = true;  // decode color_%06d.jpg
  bool seg = false;   // inflate the segmentation mask
};

class DexYCBReader {
 public:
  DexYCBReader(std::string root, Setup setup, Split split);

  const std::string& root() const { return root_; }
  Setup setup() const { return setup_; }
  Split split() const { return split_; }
  int64_t size() const { return static_cast<int64_t>(refs_.size()); }
  const std::vector<SequenceInfo>& sequences() const { return sequences_; }
  // Intrinsics of every camera used by this split, by serial index.
  const std::map<int, ColorIntrinsics>& intrinsics() const { return intrinsics_; }

  // Index entry of sample i (no file access). amt::ValueError when i is out of range.
  SampleInfo info(int64_t i) const;
  // Loads sample i: labels always, the image and the mask on request.
  Sample load(int64_t i, const LoadOptions& options = {}) const;

 private:
  struct Ref {
    int32_t sequence;
    int32_t serial;  // index into dexycb_serials()
    int32_t frame;
  };
  std::string root_;
  Setup setup_;
  Split split_;
  std::vector<SequenceInfo> sequences_;
  std::map<int, ColorIntrinsics> intrinsics_;
  std::vector<Ref> refs_;
};

}  // namespace amt::data
