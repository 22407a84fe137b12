// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC1404} from "./IERC1404.sol";

/// @title The issuer powers of a restricted token that other contracts (the adjudicator) rely on.
interface IRestrictedToken is IERC20, IERC1404 {
    /// @notice Whether `account` may force transfers and recover a frozen holder's tokens.
    function isController(address account) external view returns (bool);

    /// @notice Whether `account` is frozen by the issuer.
    function isFrozen(address account) external view returns (bool);
}
