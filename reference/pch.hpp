// Precompiled header for every target: the heavy LibTorch includes, parsed once per build.
#pragma once
#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>
