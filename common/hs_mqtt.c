#include "hs_mqtt.h"
