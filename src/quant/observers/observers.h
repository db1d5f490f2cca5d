// Factories of the built-in observers, one per file in this folder; observer.cpp registers them.
#pragma once

#include <memory>

#include "quant/observer.h"

namespace qsweep::quant::observers {

std::unique_ptr<Observer> make_min_max(const ObserverOptions& o);
std::unique_ptr<Observer> make_ema_min_max(const ObserverOptions& o);
std::unique_ptr<Observer> make_ema_quantile(const ObserverOptions& o);
std::unique_ptr<Observer> make_ema_quantile_legacy(const ObserverOptions& o);
std::unique_ptr<Observer> make_mse(const ObserverOptions& o);
std::unique_ptr<Observer> make_ema_mse(const ObserverOptions& o);

}  // namespace qsweep::quant::observers
