// Loading checkpoint weights into a zoo graph, whatever naming the checkpoint uses.
//
//   graph::Graph g = build_model("mobilenetv2_1.0");
//   load_weights(g, read_state_dict("mobilenet_v2-b0353104.pth"), "mobilenet_v2-b0353104.pth");
//
// Names accepted per family (after read_state_dict has unwrapped wrappers and "module."):
//   resnet:      torchvision = BRECQ/MQBench names (conv1, layer1.0.conv1, downsample.0, fc)
//   mobilenetv2: BRECQ/MQBench names (features.1.conv.0..4, features.2.conv.0..7) or torchvision's
//                (features.1.conv.0.0, features.2.conv.1.0, conv.2, conv.3), detected from the keys
//   regnetx:     pycls names (stem.conv, s1.b1.f.a_bn, head.fc) or torchvision regnet_x_*
//                (stem.0, trunk_output.block1.block1-0.f.a.0, fc)
// Missing keys, unexpected keys and shape mismatches are reported together, by name, and nothing
// is loaded then. BatchNorm's num_batches_tracked may be absent (older checkpoints).
#pragma once

#include <string>

#include "graph/graph.h"
#include "models/checkpoint/checkpoint.h"

namespace qsweep::models {

// The graph's name for a checkpoint key of the given family ("resnet", "mobilenetv2", "regnetx");
// `torchvision_layout` says whether the checkpoint uses torchvision's module names.
std::string canonical_name(const std::string& key, const std::string& family, bool torchvision_layout);

// Copies every tensor of `sd` into `g` (float32, the graph's device). Throws CheckpointError
// naming `source` and listing every missing / unexpected / mis-shaped entry.
void load_weights(graph::Graph& g, const StateDict& sd, const std::string& source);

// The graph's parameters and buffers in its own (BRECQ/pycls) names.
StateDict state_dict_of(const graph::Graph& g);

}  // namespace qsweep::models
