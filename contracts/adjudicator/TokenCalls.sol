// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IRestrictedToken} from "../interfaces/IRestrictedToken.sol";

/**
 * @title Calls from the Adjudicator to the tokens it holds
 * @author Clearline
 * @notice Gas-capped, return-data-bounded calls into arbitrary tokens: a hostile token can neither
 * exhaust a settlement's gas nor bomb it with return data.
 * @dev Internal functions only: inlined into the Adjudicator, no deployment of their own.
 */
library TokenCalls {
    /// @dev Gas given to each pushed payout; a token that needs more leaves the amount claimable.
    uint256 internal constant PAYOUT_GAS_LIMIT = 300_000;
    /// @dev Gas given to a restricted token's compliance check.
    uint256 internal constant CHECK_GAS_LIMIT = 300_000;
    /// @dev The code of a held movement whose token did not answer the compliance check.
    uint8 internal constant CHECK_FAILED = 0xFF;
    /// @dev Gas given to the ERC-165 probe made at a token's first deposit into a channel.
    uint256 internal constant PROBE_GAS_LIMIT = 30_000;

    /**
     * @notice ERC-20 transfer with a gas cap and at most 32 bytes of return data copied.
     * @param token The token.
     * @param to The receiver.
     * @param amount How much.
     * @return ok Whether the token transferred (no revert; `true` or nothing returned by a contract).
     */
    function tryTransfer(address token, address to, uint256 amount) internal returns (bool ok) {
        bytes4 selector = IERC20.transfer.selector;
        assembly ("memory-safe") {
            // The call data is built past the free memory pointer, which stays where it is.
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), to)
            mstore(add(ptr, 0x24), amount)
            ok := call(PAYOUT_GAS_LIMIT, token, 0, ptr, 0x44, 0, 0x20)
            switch returndatasize()
            case 0 {
                ok := and(ok, gt(extcodesize(token), 0))
            }
            default {
                ok := and(ok, and(gt(returndatasize(), 31), eq(mload(0), 1)))
            }
        }
    }

    /**
     * @notice The token's ERC-1404 code for a custodial release `from` → `to`.
     * @param token The restricted token.
     * @param from The sender of the movement.
     * @param to Its receiver.
     * @param amount How much.
     * @return The code (0: allowed); CHECK_FAILED when the token reverts, runs out of its gas cap or
     * answers something that is not a code.
     */
    function custodialCode(address token, address from, address to, uint256 amount) internal view returns (uint8) {
        bytes4 selector = IRestrictedToken.detectCustodialTransferRestriction.selector;
        bool ok;
        uint256 result;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), from)
            mstore(add(ptr, 0x24), to)
            mstore(add(ptr, 0x44), amount)
            ok := staticcall(CHECK_GAS_LIMIT, token, ptr, 0x64, 0, 0x20)
            ok := and(ok, gt(returndatasize(), 31))
            result := mload(0)
        }
        if (!ok || result > type(uint8).max) return CHECK_FAILED;
        return uint8(result);
    }

    /**
     * @notice Whether `token` says (ERC-165) it is an IRestrictedToken.
     * @param token The token.
     * @return restricted False when the token reverts, has no code or answers anything but `true`
     * (a plain ERC-20).
     */
    function isRestricted(address token) internal view returns (bool restricted) {
        bytes memory data = abi.encodeWithSelector(0x01ffc9a7, type(IRestrictedToken).interfaceId);
        assembly ("memory-safe") {
            let ok := staticcall(PROBE_GAS_LIMIT, token, add(data, 0x20), mload(data), 0, 0x20)
            restricted := and(and(ok, gt(returndatasize(), 31)), eq(mload(0), 1))
        }
    }

    /**
     * @notice Whether `account` is the restricted token's controller.
     * @param token The restricted token.
     * @param account The account.
     * @return False also when the token reverts or answers nothing.
     */
    function isController(address token, address account) internal view returns (bool) {
        try IRestrictedToken(token).isController(account) returns (bool result) {
            return result;
        } catch {
            return false;
        }
    }

    /**
     * @notice `token.balanceOf(this)`; bubbles up a revert.
     * @param token The token.
     * @return held The calling contract's balance.
     */
    function balanceOfThis(address token) internal view returns (uint256 held) {
        assembly ("memory-safe") {
            mstore(0x00, 0x70a08231)
            mstore(0x20, address())
            let ok := staticcall(gas(), token, 0x1c, 0x24, 0x00, 0x20)
            if iszero(and(ok, gt(returndatasize(), 0x1f))) {
                returndatacopy(0, 0, returndatasize())
                revert(0, returndatasize())
            }
            held := mload(0x00)
        }
    }
}
