// PyTorch checkpoint (torch.save) files, read and written without LibTorch's unpickler.
//
//   StateDict sd = read_state_dict("resnet18-f37072fd.pth");   // 122 (name, tensor), file order
//   write_state_dict("calibrated.pt", sd);                      // torch.load() reads a dict back
//   std::string digest = sha256_file("resnet18-f37072fd.pth");   // "f37072fd..." provenance
//
// LibTorch 1.13's torch::pickle_load rejects collections.OrderedDict and the legacy (pre-1.6)
// format, yet the released torchvision and BRECQ weights are OrderedDicts; so qsweep reads the
// format itself: its own zip reader (zip_archive.cpp) and a bounded pickle VM that knows only the
// globals on the path to a tensor (torch_unpickler.cpp). Every file is untrusted: a malformed one
// gives a CheckpointError naming the path and what is wrong, and no size is believed unless the
// file holds that many bytes.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "support/error.h"

namespace qsweep::models {

class CheckpointError : public Error {
 public:
  using Error::Error;
};

// (name, tensor) in the order the file stores them.
using StateDict = std::vector<std::pair<std::string, at::Tensor>>;

// Reads a torch.save file: the zip format (PyTorch >= 1.6) or the legacy pickle stream
// (PyTorch 0.4-1.5, or _use_new_zipfile_serialization=False).
// - The saved object is a dict or OrderedDict of tensors, or a wrapper around one: the entries
//   'state_dict', 'model_state_dict', 'model', 'module', 'net' are unwrapped recursively (first
//   one present that is a dict), so {'model': {'state_dict': sd}, 'epoch': 3} yields sd.
//   Entries that are not tensors ('epoch', 'arch', '_metadata', ...) are skipped.
// - A leading "module." (DataParallel) is stripped from every name.
// - Tensors keep the file's layout: views of one storage (t, t[1:], t.t()) share memory as they
//   did when saved. dtypes: float32/64, float16, bfloat16, int64/32/16/8, uint8, bool.
// Throws CheckpointError naming the path and the problem (not a zip, truncated, unsupported pickle
// opcode at an offset, missing storage, shape past the end of its storage, ...).
StateDict read_state_dict(const std::string& path);

// Writes sd as torch.save would (zip format, stored 64-byte aligned entries) holding a plain dict
// name -> tensor; tensors are written contiguous, each with its own storage. Python's torch.load
// and qsweep's read_state_dict read it back. The file appears atomically (temp file + rename).
void write_state_dict(const std::string& path, const StateDict& sd);

// Lower-case hex SHA-256 of the file's bytes (for provenance records). Throws CheckpointError.
std::string sha256_file(const std::string& path);

}  // namespace qsweep::models
